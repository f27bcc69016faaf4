using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainJobType (named for the backup binding so other areas can bind the job calls on their own).</summary>
public enum BackupJobType
{
    None = 0,
    Bounded = 1,
    Unbounded = 2,
    Completed = 3,
    Failed = 4,
    Cancelled = 5,
}

/// <summary>The state of a domain's job: its type, and bytes processed/total of the file (disk) part.</summary>
public sealed record BackupJobState(BackupJobType Type, ulong FileProcessed, ulong FileTotal);

/// <summary>The outcome of a finished job (virDomainGetJobStats with VIR_DOMAIN_JOB_STATS_COMPLETED): its type and libvirt's error message when it failed.</summary>
public sealed record BackupJobOutcome(BackupJobType Type, string? ErrorMessage);

public sealed unsafe partial class LibvirtDomain
{
    /// <summary>virDomainBackupBegin (push mode when the XML says so), no checkpoint.</summary>
    public void BackupBegin(string backupXml) =>
        _conn.Check(LibvirtNative.BackupDomainBackupBegin(_handle, backupXml, null, 0), "virDomainBackupBegin");

    /// <summary>virDomainBackupGetXMLDesc of the running backup job, or null when the domain runs no backup job.</summary>
    public string? TryGetBackupXml()
    {
        var p = LibvirtNative.BackupDomainBackupGetXmlDesc(_handle, 0);
        if (p != IntPtr.Zero)
        {
            return NativeStrings.Take(p);
        }

        LibvirtNative.virResetLastError();
        return null;
    }

    /// <summary>virDomainGetJobInfo: the current job (type None when there is none).</summary>
    public BackupJobState GetBackupJobState()
    {
        _conn.Check(LibvirtNative.BackupDomainGetJobInfo(_handle, out var info), "virDomainGetJobInfo");
        return new BackupJobState((BackupJobType)info.Type, info.FileProcessed, info.FileTotal);
    }

    /// <summary>virDomainGetJobStats(VIR_DOMAIN_JOB_STATS_COMPLETED): the last completed job's type and error message.</summary>
    public BackupJobOutcome GetCompletedBackupJobOutcome()
    {
        _conn.Check(LibvirtNative.BackupDomainGetJobStats(_handle, out var type, out var parameters, out var count, 1), "virDomainGetJobStats");
        try
        {
            string? error = null;
            if (parameters != IntPtr.Zero && LibvirtNative.BackupTypedParamsGetString(parameters, count, "errmsg", out var value) == 1)
            {
                error = NativeStrings.Borrowed(value);
            }

            return new BackupJobOutcome((BackupJobType)type, error);
        }
        finally
        {
            if (parameters != IntPtr.Zero)
            {
                LibvirtNative.BackupTypedParamsFree(parameters, count);
            }
        }
    }

    /// <summary>virDomainAbortJob.</summary>
    public void AbortBackupJob() => _conn.Check(LibvirtNative.BackupDomainAbortJob(_handle), "virDomainAbortJob");
}
