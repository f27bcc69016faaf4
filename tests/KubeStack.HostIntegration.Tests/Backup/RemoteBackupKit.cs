using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.HostIntegration.Tests.Ftp;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// A dir pool (through libvirt) with a backup area, local backup versions written in the documented layout
/// (docs/backup.md: qcow2 data files, incremental ones with the relative backing file <c>../&lt;parent&gt;/&lt;file&gt;</c>,
/// manifest last through <see cref="BackupFiles.WriteManifestAsync"/>), the request parameters of the lab FTP server,
/// and the remote area of the test's VM on the server's disk. Disposing removes the pool, the local and the remote files.
/// </summary>
internal sealed class RemoteBackupKit : IDisposable
{
    public const long VirtualSize = 64L * 1024 * 1024;

    private readonly StorageTestKit _storage = StorageTestKit.Open();
    private readonly List<string> _domains = [];

    public RemoteBackupKit()
    {
        (PoolName, PoolPath) = _storage.NewPool();
        Layout = BackupLayout.ForPoolDirectory(PoolPath);
    }

    public string PoolName { get; }
    public string PoolPath { get; }
    public BackupLayout Layout { get; }
    public StorageTestKit Storage => _storage;

    /// <summary>A VM name whose remote area is removed on dispose.</summary>
    public string NewDomain()
    {
        var domain = LabEnvironment.UniqueName("remote");
        _domains.Add(domain);
        return domain;
    }

    /// <summary>Where the server keeps <c>/kubestack-backups/&lt;domain&gt;</c> on this machine.</summary>
    public static string ServerDomainDir(string domain) => Path.Combine(FtpLab.Root, BackupLayout.AreaName, domain);

    public static string ServerVersionDir(string domain, string? volume, string version) =>
        volume is null ? Path.Combine(ServerDomainDir(domain), "vm", version) : Path.Combine(ServerDomainDir(domain), "disks", volume, version);

    public string LocalVersionDir(string domain, string? volume, string version) =>
        volume is null ? Layout.VmVersion(domain, version) : Layout.DiskVersion(domain, volume, version);

    /// <summary>
    /// Writes a complete local version: one qcow2 data file <c>vda.qcow2</c> (or <c>&lt;vol&gt;.qcow2</c>) holding
    /// <paramref name="pattern"/> over <paramref name="dataBytes"/> at offset 0; incremental over <paramref name="parent"/>
    /// when given (then only the new clusters are in this file). <paramref name="node"/>: the node the manifest names (default this one).
    /// </summary>
    public async Task<BackupManifest> WriteVersionAsync(string domain, string? volume, string version, byte pattern, long dataBytes = 1024 * 1024,
        BackupManifest? parent = null, long offset = 0, string? node = null)
    {
        var dir = Layout.Create(LocalVersionDir(domain, volume, version));
        var file = volume is null ? "vda.qcow2" : $"{volume}.qcow2";
        var path = Path.Combine(dir, file);
        var size = VirtualSize.ToString(CultureInfo.InvariantCulture);
        var args = parent is null
            ? new[] { "create", "-q", "-f", "qcow2", path, size }
            : ["create", "-q", "-f", "qcow2", "-b", BackupLayout.RelativeBacking(parent.Version, file), "-F", "qcow2", path, size];
        Assert.Equal(0, (await HostToolRunner.Default.RunAsync("qemu-img", args, CancellationToken.None)).ExitCode);
        await StorageTestKit.WriteAsync(path, pattern, offset, dataBytes);
        var parentDisk = parent?.Disks.Single();
        var manifest = new BackupManifest
        {
            Kind = volume is null ? BackupManifest.KindVm : BackupManifest.KindDisk,
            Domain = domain,
            Version = version,
            Mode = parent is null ? BackupManifest.ModeFull : BackupManifest.ModeIncremental,
            Parent = parent?.Version,
            Created = DateTimeOffset.UtcNow,
            Node = node ?? StorageTestKit.Node,
            Method = BackupManifest.MethodOfflineCopy,
            DomainXml = volume is null ? $"<domain type='kvm'><name>{domain}</name></domain>" : null,
            Disks =
            [
                new BackupDiskEntry
                {
                    Target = volume is null ? "vda" : volume,
                    System = volume is null,
                    Volume = volume ?? $"{domain}-disk",
                    Pool = PoolName,
                    SourcePath = $"{PoolPath}/{volume ?? domain}",
                    SourceFormat = "qcow2",
                    VirtualSize = VirtualSize,
                    Format = "qcow2",
                    File = file,
                    Bytes = new FileInfo(path).Length,
                    Sha256 = await BackupFiles.Sha256Async(path),
                    Mode = parent is null ? BackupManifest.ModeFull : BackupManifest.ModeIncremental,
                    ParentVersion = parentDisk is null ? null : parent!.Version,
                    BackingFile = parentDisk is null ? null : BackupLayout.RelativeBacking(parent!.Version, file),
                    Chain = parentDisk is null ? [version] : [version, .. parentDisk.Chain],
                },
            ],
        };
        await BackupFiles.WriteManifestAsync(dir, manifest);
        return manifest;
    }

    /// <summary>The FTP parameters of a request to the lab server (or to <paramref name="port"/>, e.g. a relay).</summary>
    public static JsonObject Server(int port = FtpLab.Port, string password = FtpLab.Password) => new()
    {
        ["remote"] = FtpLab.Host,
        ["port"] = port.ToString(CultureInfo.InvariantCulture),
        ["username"] = FtpLab.User,
        ["password"] = password,
    };

    /// <summary><paramref name="extra"/> plus the server parameters.</summary>
    public static JsonObject Request(JsonObject extra, int port = FtpLab.Port, string password = FtpLab.Password)
    {
        var request = Server(port, password);
        foreach (var (key, value) in extra)
        {
            request[key] = value?.DeepClone();
        }

        return request;
    }

    public void Dispose()
    {
        foreach (var domain in _domains)
        {
            FtpLab.Remove(ServerDomainDir(domain));
        }

        _storage.Dispose();
    }
}
