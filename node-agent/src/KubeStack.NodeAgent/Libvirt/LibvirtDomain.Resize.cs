using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainBlockResizeFlags.</summary>
[Flags]
public enum DomainBlockResizeFlags : uint
{
    /// <summary>The size is in KiB.</summary>
    None = 0,

    /// <summary>VIR_DOMAIN_BLOCK_RESIZE_BYTES: the size is in bytes.</summary>
    Bytes = 1,
}

public sealed partial class LibvirtDomain
{
    /// <summary>
    /// virDomainBlockResize: grows the image behind disk <paramref name="disk"/> (its target, e.g. <c>vda</c>, or its
    /// source path) of a running domain to <paramref name="sizeBytes"/> bytes; QEMU resizes the image and the guest
    /// sees the new size at once. An inactive domain gives <see cref="LibvirtException.IsOperationInvalid"/>.
    /// </summary>
    public void BlockResize(string disk, ulong sizeBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        _conn.Check(LibvirtNative.virDomainBlockResize(_handle, disk, sizeBytes, (uint)DomainBlockResizeFlags.Bytes), "virDomainBlockResize");
    }
}
