using System.Text;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools.Ftp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>One version directory on the server, as a listing found it.</summary>
/// <param name="Version">The directory name.</param>
/// <param name="Manifest">The manifest; null when the version is partial (no manifest.json) or damaged.</param>
/// <param name="Problem">Why the manifest could not be read (damaged), else null.</param>
public sealed record RemoteVersion(string Version, BackupManifest? Manifest, string? Problem)
{
    public bool IsComplete => Manifest is not null;
}

/// <summary>What a push or pull did, per version (the requested one last, its parents before it).</summary>
public sealed record RemoteCopyReport(IReadOnlyList<string> Copied, IReadOnlyList<string> AlreadyThere, long Bytes, int Resumes)
{
    public string Describe(string verb)
    {
        var parts = new List<string>();
        if (Copied.Count > 0)
        {
            parts.Add($"{verb} version(s) {string.Join(", ", Copied)} ({Bytes} bytes moved{(Resumes > 0 ? $", {Resumes} interrupted transfer(s) resumed" : string.Empty)})");
        }

        if (AlreadyThere.Count > 0)
        {
            parts.Add($"version(s) {string.Join(", ", AlreadyThere)} were already there and verified");
        }

        return string.Join("; ", parts);
    }
}

/// <summary>What a clean found and removed.</summary>
public sealed record RemoteCleanReport(IReadOnlyList<string> Found, IReadOnlyList<string> Removed, IReadOnlyList<string> NotFound);

/// <summary>
/// Backups on an FTP server (docs/backup.md, remote copies): push a local version directory (and the parents its
/// incremental disks need) to the server, pull one back into a pool's backup area, delete and clean remote versions,
/// remove the whole remote area. Publishing rules, so that a remote manifest never points at partial data:
/// data files first, each resumed where the server's copy ends, checked by SIZE and by the server's hash command where
/// it has one, then a <c>&lt;file&gt;.sha256</c> sidecar; the manifest last, uploaded under a temporary name and renamed.
/// Deleting removes the manifest first. Pulls verify every data file's SHA-256 against the manifest and write the
/// local manifest last (<see cref="BackupFiles.WriteManifestAsync"/>).
/// </summary>
public sealed partial class RemoteBackupStore
{
    private readonly FtpSession _ftp;
    private readonly RemoteBackupServer _server;
    private readonly ILogger _logger;

    public RemoteBackupStore(FtpSession ftp, RemoteBackupServer server, ILogger? logger = null)
    {
        _ftp = ftp ?? throw new ArgumentNullException(nameof(ftp));
        _server = server ?? throw new ArgumentNullException(nameof(server));
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Opens a session to <paramref name="server"/> (connects lazily, on the first step).</summary>
    public static (FtpSession Session, RemoteBackupStore Store) Open(RemoteBackupServer server, ILogger? logger = null, FtpClientOptions? options = null,
        FtpRetryPolicy? retry = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        var session = new FtpSession(server.Endpoint, server.Credentials, options, retry, logger);
        return (session, new RemoteBackupStore(session, server, logger));
    }

    // ------------------------------------------------------------------------------------------------ push

    /// <summary>
    /// Uploads version <paramref name="version"/> of <paramref name="domain"/> (the VM backup, or the backup of disk
    /// <paramref name="volume"/>) from the local area, after the parent versions its incremental disks need.
    /// Refuses (VirtctlError) a missing, incomplete or damaged local version and a different remote version of the same name.
    /// </summary>
    public async Task<RemoteCopyReport> PushAsync(BackupLayout local, string domain, string? volume, string version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        var report = new CopyTally();
        var manifest = await LocalManifestAsync(local, domain, volume, version, cancellationToken).ConfigureAwait(false);
        foreach (var parent in ParentsOldestFirst(manifest))
        {
            await PushVersionAsync(local, domain, volume, parent, report, cancellationToken).ConfigureAwait(false);
        }

        await PushVersionAsync(local, domain, volume, version, report, cancellationToken).ConfigureAwait(false);
        return report.ToReport();
    }

    private async Task PushVersionAsync(BackupLayout local, string domain, string? volume, string version, CopyTally report, CancellationToken ct)
    {
        var manifest = await LocalManifestAsync(local, domain, volume, version, ct).ConfigureAwait(false);
        var localDir = LocalVersion(local, domain, volume, version);
        var remoteDir = RemoteBackupLayout.Version(domain, volume, version);
        var remoteManifestPath = RemoteBackupLayout.FileIn(remoteDir, BackupManifest.FileName);
        var canonical = BackupManifestJson.Serialize(manifest);

        if (await ReadTextAsync(remoteManifestPath, ct).ConfigureAwait(false) is { } existing)
        {
            var remote = ParseRemoteManifest(existing, remoteManifestPath, version);
            if (BackupManifestJson.Serialize(remote) != canonical)
            {
                throw Refused($"The FTP server {_server.Endpoint} already holds a different version {version} of {What(domain, volume)}; versions are never " +
                              "overwritten: delete it there first (deleteRemoteBackup) or push under another version.");
            }

            await RequireRemoteSizesAsync(remote, remoteDir, ct).ConfigureAwait(false);
            report.AlreadyThere.Add(version);
            return;
        }

        await _ftp.RunAsync("MKD", async (c, t) => { await c.CreateDirectoriesAsync(remoteDir, t).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false);
        foreach (var disk in manifest.Disks)
        {
            var localFile = local.Check(BackupLayout.FileIn(localDir, disk.File));
            await VerifyLocalFileAsync(localFile, disk, version, ct).ConfigureAwait(false);
            var remoteFile = RemoteBackupLayout.FileIn(remoteDir, disk.File);
            var sidecar = RemoteBackupLayout.FileIn(remoteDir, disk.File + RemoteBackupLayout.ChecksumSuffix);
            var recorded = await ReadTextAsync(sidecar, ct).ConfigureAwait(false);
            if (recorded is not null)
            {
                if (SidecarHash(recorded) == disk.Sha256 && await SizeAsync(remoteFile, ct).ConfigureAwait(false) == disk.Bytes)
                {
                    continue; // uploaded and verified by an earlier attempt
                }

                // left by something else: not a prefix we may resume
                await DeleteFileAsync(sidecar, ct).ConfigureAwait(false);
                await DeleteFileAsync(remoteFile, ct).ConfigureAwait(false);
            }

            var upload = await _ftp.UploadFileAsync(localFile, remoteFile, cancellationToken: ct).ConfigureAwait(false);
            report.Bytes += upload.Transferred;
            report.Resumes += upload.ResumedAt.Count;
            var serverHash = await _ftp.RunAsync("HASH", (c, t) => c.TryHashSha256Async(remoteFile, t), ct).ConfigureAwait(false);
            if (serverHash is not null && serverHash != disk.Sha256)
            {
                await DeleteFileAsync(remoteFile, ct).ConfigureAwait(false);
                throw new FtpException(FtpFailure.Interrupted,
                    $"The FTP server {_server.Endpoint} computed SHA-256 {serverHash} for the uploaded {remoteFile}, not {disk.Sha256}; the file was removed to be sent again.");
            }

            await WriteTextAsync(sidecar, $"{disk.Sha256}  {disk.File}\n", ct).ConfigureAwait(false);
            LogUploaded(_logger, remoteFile, _server.Endpoint.ToString(), upload.Bytes, upload.ResumedAt.Count, serverHash is null ? "size" : "size and server SHA-256");
        }

        // the manifest last: uploaded under a temporary name, then renamed: a remote manifest is always whole
        var upload2 = RemoteBackupLayout.FileIn(remoteDir, RemoteBackupLayout.ManifestUploadName);
        await WriteTextAsync(upload2, await File.ReadAllTextAsync(BackupLayout.FileIn(localDir, BackupManifest.FileName), ct).ConfigureAwait(false), ct)
            .ConfigureAwait(false);
        await _ftp.RunAsync("RNFR/RNTO", async (c, t) => { await c.RenameAsync(upload2, remoteManifestPath, t).ConfigureAwait(false); return true; }, ct)
            .ConfigureAwait(false);
        report.Copied.Add(version);
    }

    private async Task RequireRemoteSizesAsync(BackupManifest manifest, string remoteDir, CancellationToken ct)
    {
        foreach (var disk in manifest.Disks)
        {
            var path = RemoteBackupLayout.FileIn(remoteDir, disk.File);
            var size = await SizeAsync(path, ct).ConfigureAwait(false);
            if (size != disk.Bytes)
            {
                throw Refused($"Version {manifest.Version} on the FTP server {_server.Endpoint} is damaged: {path} has " +
                              $"{(size is null ? "gone missing" : $"{size} bytes")} where its manifest records {disk.Bytes}; delete it there (deleteRemoteBackup) and push again.");
            }
        }
    }

    private static async Task VerifyLocalFileAsync(string path, BackupDiskEntry disk, string version, CancellationToken ct)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length != disk.Bytes)
        {
            throw Refused($"The local backup version {version} is damaged: {path} {(info.Exists ? $"has {info.Length} bytes" : "is missing")} where its manifest " +
                          $"records {disk.Bytes}; it is not uploaded.");
        }

        var sha = await BackupFiles.Sha256Async(path, ct).ConfigureAwait(false);
        if (sha != disk.Sha256)
        {
            throw Refused($"The local backup version {version} is damaged: the SHA-256 of {path} is {sha}, its manifest records {disk.Sha256}; it is not uploaded.");
        }
    }

    // ------------------------------------------------------------------------------------------------ pull

    /// <summary>
    /// Downloads version <paramref name="version"/> (with the parents its incremental disks need) into the local area.
    /// Refuses a version the server does not hold complete, a remote file whose SHA-256 differs from the manifest, and a
    /// different local version of the same name.
    /// </summary>
    public async Task<RemoteCopyReport> PullAsync(BackupLayout local, string domain, string? volume, string version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        var report = new CopyTally();
        var manifest = await RemoteManifestAsync(domain, volume, version, cancellationToken).ConfigureAwait(false);
        foreach (var parent in ParentsOldestFirst(manifest))
        {
            await PullVersionAsync(local, domain, volume, parent, await RemoteManifestAsync(domain, volume, parent, cancellationToken).ConfigureAwait(false),
                report, cancellationToken).ConfigureAwait(false);
        }

        await PullVersionAsync(local, domain, volume, version, manifest, report, cancellationToken).ConfigureAwait(false);
        return report.ToReport();
    }

    private async Task PullVersionAsync(BackupLayout local, string domain, string? volume, string version, BackupManifest manifest, CopyTally report,
        CancellationToken ct)
    {
        var localDir = LocalVersion(local, domain, volume, version);
        var remoteDir = RemoteBackupLayout.Version(domain, volume, version);
        if (Directory.Exists(local.Check(localDir)))
        {
            BackupManifest? present;
            try
            {
                present = await BackupFiles.ReadManifestAsync(localDir, ct).ConfigureAwait(false);
            }
            catch (BackupFormatException ex)
            {
                throw Refused($"The local area already holds version {version} of {What(domain, volume)} with an invalid manifest ({ex.Reason}); delete it locally first.");
            }

            if (present is not null)
            {
                if (BackupManifestJson.Serialize(present) != BackupManifestJson.Serialize(manifest))
                {
                    throw Refused($"The local area already holds a different version {version} of {What(domain, volume)}; versions are never overwritten: " +
                                  "delete it locally first (deleteVMBackup/deleteVMDiskBackup) or pull into another pool.");
                }

                report.AlreadyThere.Add(version);
                return;
            }
        }

        local.Create(localDir);
        foreach (var disk in manifest.Disks)
        {
            var localFile = local.Check(BackupLayout.FileIn(localDir, disk.File));
            var remoteFile = RemoteBackupLayout.FileIn(remoteDir, disk.File);
            for (var round = 1; ; round++)
            {
                var download = await _ftp.DownloadFileAsync(remoteFile, localFile, cancellationToken: ct).ConfigureAwait(false);
                report.Bytes += download.Transferred;
                report.Resumes += download.ResumedAt.Count;
                var length = new FileInfo(localFile).Length;
                var sha = length == disk.Bytes ? await BackupFiles.Sha256Async(localFile, ct).ConfigureAwait(false) : null;
                if (sha == disk.Sha256)
                {
                    break;
                }

                // a partial file that was not a prefix of this one (another attempt's, another source's): fetch it whole once more
                File.Delete(localFile);
                if (round == 2)
                {
                    throw Refused($"The data file {remoteFile} on the FTP server {_server.Endpoint} does not match its manifest " +
                                  $"({(sha is null ? $"{length} bytes, not {disk.Bytes}" : $"SHA-256 {sha}, not {disk.Sha256}")}): the remote version {version} is damaged; nothing was restored from it.");
                }
            }
        }

        await BackupFiles.WriteManifestAsync(localDir, manifest, ct).ConfigureAwait(false);
        report.Copied.Add(version);
        LogPulled(_logger, remoteDir, _server.Endpoint.ToString(), localDir);
    }

    // ------------------------------------------------------------------------------------------------ delete, clean, list

    /// <summary>The versions in <c>vm/</c> (no volume) or <c>disks/&lt;vol&gt;/</c> on the server, with their manifests.</summary>
    public async Task<IReadOnlyList<RemoteVersion>> ListVersionsAsync(string domain, string? volume, CancellationToken cancellationToken = default)
    {
        var root = RemoteBackupLayout.VersionsRoot(domain, volume);
        var entries = await _ftp.RunAsync("LIST", (c, t) => c.ListAsync(root, t), cancellationToken).ConfigureAwait(false);
        var versions = new List<RemoteVersion>();
        foreach (var entry in entries.Where(e => e.Type == FtpEntryType.Directory && BackupNames.Problem(e.Name) is null).OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var path = RemoteBackupLayout.FileIn(FtpPath.Combine(root, entry.Name), BackupManifest.FileName);
            var text = await ReadTextAsync(path, cancellationToken).ConfigureAwait(false);
            if (text is null)
            {
                versions.Add(new RemoteVersion(entry.Name, null, null));
                continue;
            }

            try
            {
                versions.Add(new RemoteVersion(entry.Name, BackupManifestJson.Deserialize(text, path, entry.Name), null));
            }
            catch (BackupFormatException ex)
            {
                versions.Add(new RemoteVersion(entry.Name, null, ex.Reason));
            }
        }

        return versions;
    }

    /// <summary>
    /// Deletes one remote version (manifest first, so it is never a complete version pointing at missing data), then
    /// the directories left empty. Returns false when the server has no such version. Refused while another remote
    /// version's chain needs it.
    /// </summary>
    public async Task<bool> DeleteVersionAsync(string domain, string? volume, string version, CancellationToken cancellationToken = default)
    {
        var dir = RemoteBackupLayout.Version(domain, volume, version);
        if (!await _ftp.RunAsync("CWD", (c, t) => c.DirectoryExistsAsync(dir, t), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var dependants = (await ListVersionsAsync(domain, volume, cancellationToken).ConfigureAwait(false))
            .Where(v => v.Version != version && v.Manifest is { } m && m.Disks.Any(d => d.Chain.Skip(1).Contains(version)))
            .Select(v => v.Version).ToList();
        if (dependants.Count > 0)
        {
            throw Refused($"Version {version} of {What(domain, volume)} on the FTP server {_server.Endpoint} is the parent of version(s) " +
                          $"{string.Join(", ", dependants)} there; delete those first. Nothing was deleted.");
        }

        await RemoveVersionAsync(dir, cancellationToken).ConfigureAwait(false);
        await PruneAsync(domain, volume, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// cleanVMRemoteBackup: removes the listed versions (or every version with <paramref name="all"/>) of the VM backups and
    /// disk backups of <paramref name="domain"/> (only <paramref name="volume"/>'s when given), and always the partial
    /// versions in that scope. A listed version that a kept version depends on is refused before anything is removed.
    /// </summary>
    public async Task<RemoteCleanReport> CleanAsync(string domain, string? volume, IReadOnlyCollection<string>? versions, bool all,
        CancellationToken cancellationToken = default)
    {
        var scopes = new List<string?>();
        if (volume is not null)
        {
            scopes.Add(volume);
        }
        else
        {
            scopes.Add(null);
            var disks = await _ftp.RunAsync("LIST", (c, t) => c.ListAsync(RemoteBackupLayout.DisksRoot(domain), t), cancellationToken).ConfigureAwait(false);
            scopes.AddRange(disks.Where(e => e.Type == FtpEntryType.Directory && BackupNames.Problem(e.Name) is null).Select(e => (string?)e.Name));
        }

        var found = new List<string>();
        var plan = new List<(string? Scope, string Version, string Label)>();
        var requested = new HashSet<string>(versions ?? [], StringComparer.Ordinal);
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            var listed = await ListVersionsAsync(domain, scope, cancellationToken).ConfigureAwait(false);
            var remove = listed.Where(v => all || requested.Contains(v.Version) || !v.IsComplete).Select(v => v.Version).ToHashSet(StringComparer.Ordinal);
            foreach (var v in listed)
            {
                var label = Label(scope, v.Version);
                found.Add(v.IsComplete ? label : $"{label} ({(v.Problem is null ? "partial" : "damaged")})");
                if (requested.Contains(v.Version))
                {
                    matched.Add(v.Version);
                }
            }

            var blocked = listed.Where(v => !remove.Contains(v.Version) && v.Manifest is { } m)
                .SelectMany(v => v.Manifest!.Disks.SelectMany(d => d.Chain.Skip(1)).Where(remove.Contains).Select(p => $"{Label(scope, p)} (needed by {v.Version})"))
                .Distinct().ToList();
            if (blocked.Count > 0)
            {
                throw Refused($"cleanVMRemoteBackup would remove version(s) that kept versions build on: {string.Join(", ", blocked)}. " +
                              "Clean those too (or all=true). Nothing was removed.");
            }

            plan.AddRange(remove.Order(StringComparer.Ordinal).Select(v => (scope, v, Label(scope, v))));
        }

        var removed = new List<string>();
        foreach (var (scope, version, label) in plan)
        {
            await RemoveVersionAsync(RemoteBackupLayout.Version(domain, scope, version), cancellationToken).ConfigureAwait(false);
            removed.Add(label);
        }

        foreach (var scope in scopes)
        {
            await PruneAsync(domain, scope, cancellationToken).ConfigureAwait(false);
        }

        return new RemoteCleanReport(found, removed, requested.Where(v => !matched.Contains(v)).Order(StringComparer.Ordinal).ToList());
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private async Task RemoveVersionAsync(string dir, CancellationToken ct)
    {
        await DeleteFileAsync(RemoteBackupLayout.FileIn(dir, BackupManifest.FileName), ct).ConfigureAwait(false);
        await _ftp.RunAsync("DELETE TREE", (c, t) => c.DeleteTreeAsync(dir, t), ct).ConfigureAwait(false);
    }

    /// <summary>Removes <c>vm/</c> or <c>disks/&lt;vol&gt;/</c>, <c>disks/</c> and <c>&lt;domain&gt;/</c> when they are empty.</summary>
    private Task PruneAsync(string domain, string? volume, CancellationToken ct)
    {
        var chain = new List<string> { RemoteBackupLayout.VersionsRoot(domain, volume) };
        if (volume is not null)
        {
            chain.Add(RemoteBackupLayout.DisksRoot(domain));
        }

        chain.Add(RemoteBackupLayout.DomainDirectory(domain));
        return _ftp.RunAsync("RMD", async (c, t) =>
        {
            foreach (var dir in chain)
            {
                if ((await c.ListAsync(dir, t).ConfigureAwait(false)).Count > 0)
                {
                    break;
                }

                await c.RemoveDirectoryAsync(dir, t).ConfigureAwait(false);
            }

            return true;
        }, ct);
    }

    private async Task<BackupManifest> LocalManifestAsync(BackupLayout local, string domain, string? volume, string version, CancellationToken ct)
    {
        var dir = local.Check(LocalVersion(local, domain, volume, version));
        if (!Directory.Exists(dir))
        {
            throw Refused($"There is no local backup version {version} of {What(domain, volume)} in {local.Root}; nothing was uploaded.");
        }

        BackupManifest? manifest;
        try
        {
            manifest = await BackupFiles.ReadManifestAsync(dir, ct).ConfigureAwait(false);
        }
        catch (BackupFormatException ex)
        {
            throw Refused($"The local backup version {version} of {What(domain, volume)} has an invalid manifest ({ex.Reason}); it is not uploaded.");
        }

        if (manifest is null)
        {
            throw Refused($"The local backup version {version} of {What(domain, volume)} is incomplete (no manifest.json: an interrupted backup); it is not uploaded.");
        }

        CheckBelongs(manifest, domain, volume, dir);
        return manifest;
    }

    private async Task<BackupManifest> RemoteManifestAsync(string domain, string? volume, string version, CancellationToken ct)
    {
        var dir = RemoteBackupLayout.Version(domain, volume, version);
        var path = RemoteBackupLayout.FileIn(dir, BackupManifest.FileName);
        if (await ReadTextAsync(path, ct).ConfigureAwait(false) is not { } text)
        {
            var partial = await _ftp.RunAsync("CWD", (c, t) => c.DirectoryExistsAsync(dir, t), ct).ConfigureAwait(false);
            throw Refused(partial
                ? $"Version {version} of {What(domain, volume)} on the FTP server {_server.Endpoint} is incomplete (no manifest.json: an interrupted upload); push it again first."
                : $"The FTP server {_server.Endpoint} holds no version {version} of {What(domain, volume)} (no {dir}).");
        }

        var manifest = ParseRemoteManifest(text, path, version);
        CheckBelongs(manifest, domain, volume, $"ftp://{_server.Endpoint}{dir}");
        return manifest;
    }

    private BackupManifest ParseRemoteManifest(string text, string path, string version)
    {
        try
        {
            return BackupManifestJson.Deserialize(text, $"ftp://{_server.Endpoint}{path}", version);
        }
        catch (BackupFormatException ex)
        {
            throw Refused($"The manifest of version {version} on the FTP server {_server.Endpoint} is invalid ({ex.Reason}).");
        }
    }

    private static void CheckBelongs(BackupManifest manifest, string domain, string? volume, string where)
    {
        var kind = volume is null ? BackupManifest.KindVm : BackupManifest.KindDisk;
        if (manifest.Domain != domain || manifest.Kind != kind)
        {
            throw Refused($"The manifest in {where} belongs to a {manifest.Kind} backup of VM {manifest.Domain}, not to a {kind} backup of VM {domain}.");
        }
    }

    /// <summary>The parent versions the disks' chains need, the oldest (the full one) first.</summary>
    public static IReadOnlyList<string> ParentsOldestFirst(BackupManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var disk in manifest.Disks)
        {
            for (var i = 1; i < disk.Chain.Count; i++)
            {
                depth[disk.Chain[i]] = Math.Max(depth.GetValueOrDefault(disk.Chain[i]), i);
            }
        }

        return depth.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key).ToList();
    }

    private static string LocalVersion(BackupLayout local, string domain, string? volume, string version) =>
        volume is null ? local.VmVersion(domain, version) : local.DiskVersion(domain, volume, version);

    private async Task<string?> ReadTextAsync(string path, CancellationToken ct)
    {
        try
        {
            return await _ftp.RunAsync("RETR", async (c, t) =>
            {
                using var buffer = new MemoryStream();
                await c.DownloadAsync(path, buffer, cancellationToken: t).ConfigureAwait(false);
                return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }, ct).ConfigureAwait(false);
        }
        catch (FtpException ex) when (ex.Failure == FtpFailure.NotFound)
        {
            return null;
        }
    }

    private async Task WriteTextAsync(string path, string text, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        await _ftp.RunAsync("STOR", async (c, t) =>
        {
            using var source = new MemoryStream(bytes, writable: false);
            await c.UploadAsync(source, path, cancellationToken: t).ConfigureAwait(false);
            var size = await c.SizeAsync(path, t).ConfigureAwait(false);
            return size == bytes.Length
                ? true
                : throw new FtpException(FtpFailure.Interrupted, $"{path} on the FTP server {_server.Endpoint} has {size} bytes after the upload, not {bytes.Length}.");
        }, ct).ConfigureAwait(false);
    }

    private Task<long?> SizeAsync(string path, CancellationToken ct) => _ftp.RunAsync("SIZE", (c, t) => c.SizeAsync(path, t), ct);

    private Task<bool> DeleteFileAsync(string path, CancellationToken ct) => _ftp.RunAsync("DELE", (c, t) => c.DeleteFileAsync(path, t), ct);

    private static string SidecarHash(string text) => text.Split(' ', 2)[0].Trim().ToLowerInvariant();

    private static string What(string domain, string? volume) => volume is null ? $"VM {domain}" : $"disk {volume} of VM {domain}";

    private static string Label(string? scope, string version) => scope is null ? $"vm/{version}" : $"disks/{scope}/{version}";

    private static StorageRefusedException Refused(string message) => new(ErrorClasses.VirtctlError, message);

    private sealed class CopyTally
    {
        public List<string> Copied { get; } = [];
        public List<string> AlreadyThere { get; } = [];
        public long Bytes { get; set; }
        public int Resumes { get; set; }

        public RemoteCopyReport ToReport() => new(Copied, AlreadyThere, Bytes, Resumes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploaded {Path} to {Server}: {Bytes} bytes, {Resumes} resume(s), verified by {Check}.")]
    private static partial void LogUploaded(ILogger logger, string path, string server, long bytes, int resumes, string check);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled {Path} from {Server} into {Directory}.")]
    private static partial void LogPulled(ILogger logger, string path, string server, string directory);
}
