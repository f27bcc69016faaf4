namespace KubeStack.Contracts.Xml;

/// <summary>The libvirt XML documents the codec knows; each has its root element and its table of array paths.</summary>
public enum LibvirtDocument
{
    /// <summary><c>&lt;domain&gt;</c> (<c>virsh dumpxml</c>): <c>spec.domain</c> of VirtualMachine and VirtualMachineImage.</summary>
    Domain,

    /// <summary><c>&lt;domainsnapshot&gt;</c> (<c>virsh snapshot-dumpxml</c>), with its embedded domain: <c>spec.domainsnapshot</c>.</summary>
    DomainSnapshot,

    /// <summary><c>&lt;pool&gt;</c> (<c>virsh pool-dumpxml</c>).</summary>
    StoragePool,

    /// <summary><c>&lt;volume&gt;</c> (<c>virsh vol-dumpxml</c>).</summary>
    StorageVolume,

    /// <summary><c>&lt;network&gt;</c> (<c>virsh net-dumpxml</c>).</summary>
    Network,
}

/// <summary>A document that cannot be converted (not well-formed, wrong root, or not representable without loss).</summary>
public sealed class LibvirtXmlJsonException : Exception
{
    public LibvirtXmlJsonException()
    {
    }

    public LibvirtXmlJsonException(string message)
        : base(message)
    {
    }

    public LibvirtXmlJsonException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
