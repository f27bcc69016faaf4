using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>
/// The backup area on an FTP server: the local layout (<see cref="BackupLayout"/>) mirrored under the FTP user's
/// root, <c>/kubestack-backups/&lt;domain&gt;/vm/&lt;version&gt;/</c> and <c>/kubestack-backups/&lt;domain&gt;/disks/&lt;vol&gt;/&lt;version&gt;/</c>.
/// Every segment follows <see cref="BackupNames"/>, so no remote path leaves the area.
/// </summary>
public static class RemoteBackupLayout
{
    /// <summary>The area's root on the server.</summary>
    public static readonly string Root = FtpPath.Of(BackupLayout.AreaName);

    /// <summary>Where a manifest is uploaded before the rename that publishes the version.</summary>
    public const string ManifestUploadName = "manifest.json.uploading";

    /// <summary>The sidecar holding a data file's SHA-256 (<c>&lt;hex&gt;  &lt;file&gt;</c>), written after the data file was verified.</summary>
    public const string ChecksumSuffix = ".sha256";

    public static string DomainDirectory(string domain) => FtpPath.Combine(Root, Name(domain));

    public static string VmRoot(string domain) => FtpPath.Combine(DomainDirectory(domain), BackupLayout.VmDirectory);

    public static string DisksRoot(string domain) => FtpPath.Combine(DomainDirectory(domain), BackupLayout.DisksDirectory);

    public static string DiskRoot(string domain, string volume) => FtpPath.Combine(DisksRoot(domain), Name(volume));

    /// <summary><see cref="VmRoot"/> without a volume, else <see cref="DiskRoot"/>.</summary>
    public static string VersionsRoot(string domain, string? volume) => volume is null ? VmRoot(domain) : DiskRoot(domain, volume);

    public static string Version(string domain, string? volume, string version) => FtpPath.Combine(VersionsRoot(domain, volume), Name(version));

    public static string FileIn(string versionDirectory, string file) => FtpPath.Combine(versionDirectory, Name(file));

    private static string Name(string segment) =>
        BackupNames.Problem(segment) is { } problem
            ? throw new ArgumentException($"'{segment}' cannot be a path segment of the remote backup area: it {problem}.", nameof(segment))
            : segment;
}
