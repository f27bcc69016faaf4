using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>Custom metadata elements of a domain (VIR_DOMAIN_METADATA_ELEMENT), one per namespace URI.</summary>
public sealed partial class LibvirtDomain
{
    private const int MetadataElement = 2;

    /// <summary>
    /// virDomainSetMetadata(VIR_DOMAIN_METADATA_ELEMENT): sets the element <paramref name="xml"/> under the namespace
    /// <paramref name="uri"/> (prefix <paramref name="key"/>), or removes it when <paramref name="xml"/> is null.
    /// </summary>
    public void SetMetadataElement(string uri, string key, string? xml, DomainModificationFlags flags) =>
        _conn.Check(LibvirtNative.virDomainSetMetadata(_handle, MetadataElement, xml, xml is null ? null : key, uri, (uint)flags),
            "virDomainSetMetadata");

    /// <summary>virDomainGetMetadata(VIR_DOMAIN_METADATA_ELEMENT): the element of namespace <paramref name="uri"/>, null when absent.</summary>
    public string? GetMetadataElement(string uri, DomainModificationFlags flags)
    {
        var p = LibvirtNative.virDomainGetMetadata(_handle, MetadataElement, uri, (uint)flags);
        if (p != IntPtr.Zero)
        {
            return NativeStrings.Take(p);
        }

        var ex = _conn.Fail("virDomainGetMetadata");
        if (ex.Code == VirErrorNumber.NoDomainMetadata)
        {
            return null;
        }

        throw ex;
    }
}
