using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>Backup jobs (virDomainBackupBegin, push mode) and domain job state. Names carry a Backup prefix so other
/// areas can bind the same entry points without a clash.</summary>
internal static unsafe partial class LibvirtNative
{
    [LibraryImport(Library, EntryPoint = "virDomainBackupBegin", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int BackupDomainBackupBegin(DomainHandle dom, string backupXml, string? checkpointXml, uint flags);

    [LibraryImport(Library, EntryPoint = "virDomainBackupGetXMLDesc")]
    internal static partial IntPtr BackupDomainBackupGetXmlDesc(DomainHandle dom, uint flags);

    [LibraryImport(Library, EntryPoint = "virDomainGetJobInfo")]
    internal static partial int BackupDomainGetJobInfo(DomainHandle dom, out BackupJobInfoNative info);

    [LibraryImport(Library, EntryPoint = "virDomainGetJobStats")]
    internal static partial int BackupDomainGetJobStats(DomainHandle dom, out int type, out IntPtr parameters, out int count, uint flags);

    [LibraryImport(Library, EntryPoint = "virDomainAbortJob")]
    internal static partial int BackupDomainAbortJob(DomainHandle dom);

    [LibraryImport(Library, EntryPoint = "virTypedParamsGetString", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int BackupTypedParamsGetString(IntPtr parameters, int count, string name, out IntPtr value);

    [LibraryImport(Library, EntryPoint = "virTypedParamsFree")]
    internal static partial void BackupTypedParamsFree(IntPtr parameters, int count);

    /// <summary>virDomainJobInfo.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BackupJobInfoNative
    {
        public int Type;
        public ulong TimeElapsed;
        public ulong TimeRemaining;
        public ulong DataTotal;
        public ulong DataProcessed;
        public ulong DataRemaining;
        public ulong MemTotal;
        public ulong MemProcessed;
        public ulong MemRemaining;
        public ulong FileTotal;
        public ulong FileProcessed;
        public ulong FileRemaining;
    }
}
