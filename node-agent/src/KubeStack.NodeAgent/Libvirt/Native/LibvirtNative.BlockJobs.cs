using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>Block jobs of a running domain: pull, commit, copy, their progress and their end (libvirt-domain.h).</summary>
internal static partial class LibvirtNative
{
    /// <summary><c>struct _virDomainBlockJobInfo { int type; unsigned long bandwidth; unsigned long long cur, end; }</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct VirDomainBlockJobInfoNative
    {
        public int Type;
        public CULong Bandwidth;
        public ulong Cur;
        public ulong End;
    }

    /// <summary><c>int virDomainBlockRebase(virDomainPtr dom, const char *disk, const char *base, unsigned long bandwidth, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockRebase(DomainHandle dom, string disk, string? baseImage, CULong bandwidth, uint flags);

    /// <summary><c>int virDomainBlockCommit(virDomainPtr dom, const char *disk, const char *base, const char *top, unsigned long bandwidth, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockCommit(DomainHandle dom, string disk, string? baseImage, string? top, CULong bandwidth, uint flags);

    /// <summary><c>int virDomainBlockCopy(virDomainPtr dom, const char *disk, const char *destxml, virTypedParameterPtr params, int nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockCopy(DomainHandle dom, string disk, string destXml, IntPtr parameters, int nparams, uint flags);

    /// <summary><c>int virDomainGetBlockJobInfo(virDomainPtr dom, const char *disk, virDomainBlockJobInfoPtr info, unsigned int flags)</c>: 1 = a job, 0 = none.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainGetBlockJobInfo(DomainHandle dom, string disk, out VirDomainBlockJobInfoNative info, uint flags);

    /// <summary><c>int virDomainBlockJobAbort(virDomainPtr dom, const char *disk, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockJobAbort(DomainHandle dom, string disk, uint flags);
}
