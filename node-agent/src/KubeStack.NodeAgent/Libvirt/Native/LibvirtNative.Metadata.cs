using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>Domain metadata (virDomainSetMetadata/virDomainGetMetadata): custom XML elements under &lt;metadata&gt;.</summary>
internal static partial class LibvirtNative
{
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetMetadata(DomainHandle dom, int type, string? metadata, string? key, string? uri, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr virDomainGetMetadata(DomainHandle dom, int type, string? uri, uint flags);
}
