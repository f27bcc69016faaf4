using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>Block device resizing of a running domain (libvirt-domain.h).</summary>
internal static partial class LibvirtNative
{
    /// <summary><c>int virDomainBlockResize(virDomainPtr dom, const char *disk, unsigned long long size, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockResize(DomainHandle dom, string disk, ulong size, uint flags);
}
