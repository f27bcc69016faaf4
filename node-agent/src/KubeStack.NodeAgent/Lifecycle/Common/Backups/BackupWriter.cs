using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>One backup to make: a vm backup (<see cref="Volume"/> null) or a disk backup of <see cref="Volume"/>.</summary>
public sealed record BackupRequest(string Domain, string? Volume, string Version, bool Full, bool AllDisks, string Node, int Attempt, string Operation);

/// <summary>What a backup produced: the manifest, whether it was already there (resumed attempt), and why a requested incremental became full.</summary>
public sealed record BackupOutcome(BackupManifest Manifest, bool AlreadyDone, string? FullBecause);

/// <summary>
/// Makes one backup version (docs/backup.md): probes the version (a complete one is the result of a resumed attempt, a
/// partial one is replaced), picks the parent for an incremental, reads the disks (libvirt push backup of a running VM,
/// else the files), writes full images or changed-cluster overlays, checksums them, and writes the manifest last.
/// </summary>
public sealed class BackupWriter(QemuImg qemuImg, ICrashInjector crash)
{
    /// <summary>How often a running backup job is polled.</summary>
    public static readonly TimeSpan JobPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The hidden scratch file a libvirt push backup writes a disk to, inside the version directory.</summary>
    public static string ScratchName(string file) => $".{file}.scratch";

    /// <summary>The scratch file's path (the name is hidden on purpose, so it is built here rather than through the name rule).</summary>
    public static string ScratchPath(string versionDirectory, string file) => $"{versionDirectory}/{ScratchName(BackupLayout.FileIn(versionDirectory, file)[(versionDirectory.Length + 1)..])}";

    public async Task<BackupOutcome> BackupAsync(BackupStore store, BackupRequest request, IReadOnlyList<BackupSourceDisk> disks, string? domainXml,
        LibvirtDomain? runningDomain, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(disks);
        if (disks.Count == 0)
        {
            throw BackupStore.Refused($"{request.Operation} of {request.Domain} on node {request.Node} found no disk to back up.");
        }

        var dir = store.VersionDirectory(request.Version);
        var existing = await store.FindAsync(request.Version, ct).ConfigureAwait(false);
        if (existing is { IsComplete: true, Manifest: { } done })
        {
            if (request.Attempt > 1)
            {
                return new BackupOutcome(done, AlreadyDone: true, null);
            }

            throw BackupStore.Refused($"{request.Operation}.version {request.Version} is refused on node {request.Node}: the {store.Scope} backup " +
                $"{request.Version} of {request.Domain} already exists (made {done.Created:u}); versions are never overwritten. Choose a new version.");
        }

        if (existing is not null)
        {
            // An interrupted attempt (no manifest) or a damaged directory of this version: replaced.
            if (runningDomain is not null)
            {
                await AbortOwnJobAsync(runningDomain, dir, ct).ConfigureAwait(false);
            }

            store.Remove(request.Version);
        }

        var all = await store.ListAsync(ct).ConfigureAwait(false);
        string? fullBecause = null;
        BackupManifest? parent = null;
        if (!request.Full)
        {
            parent = all.LastOrDefault(v => v.IsComplete && v.Version != request.Version)?.Manifest;
            if (parent is null)
            {
                fullBecause = $"there is no complete earlier {store.Scope} backup of {request.Domain} to build on";
            }
        }

        store.Layout.Create(dir);
        var files = disks.ToDictionary(d => d.Target, d => FileName(request, d), StringComparer.Ordinal);
        var sources = disks.ToDictionary(d => d.Target, d => (Path: d.Path, Format: d.Format), StringComparer.Ordinal);
        var method = BackupManifest.MethodOfflineCopy;
        if (runningDomain is not null)
        {
            method = BackupManifest.MethodLibvirtBackup;
            await PushBackupAsync(runningDomain, disks.ToDictionary(d => d.Target, d => ScratchPath(dir, files[d.Target]), StringComparer.Ordinal),
                $"{request.Operation} {request.Version}", request.Node, ct).ConfigureAwait(false);
            foreach (var d in disks)
            {
                sources[d.Target] = (ScratchPath(dir, files[d.Target]), "qcow2");
            }
        }

        var entries = new List<BackupDiskEntry>();
        foreach (var disk in disks)
        {
            var file = files[disk.Target];
            var final = BackupLayout.FileIn(dir, file);
            var (source, sourceFormat) = sources[disk.Target];
            var parentEntry = parent?.Disks.FirstOrDefault(p => p.Target == disk.Target && p.Volume == disk.Volume && p.File == file);
            if (parentEntry is null)
            {
                if (runningDomain is not null)
                {
                    File.Move(source, final);
                }
                else
                {
                    await qemuImg.ConvertAsync(source, final, "qcow2", sourceFormat, cancellationToken: ct).ConfigureAwait(false);
                }
            }
            else
            {
                // An empty overlay on the source, re-pointed at the parent's file in safe mode: qemu-img copies in exactly
                // the clusters whose content differs between the source and the parent chain.
                await qemuImg.CreateAsync(final, "qcow2", null, source, sourceFormat, cancellationToken: ct).ConfigureAwait(false);
                await qemuImg.RebaseAsync(final, BackupLayout.RelativeBacking(parent!.Version, file), "qcow2", format: "qcow2", cancellationToken: ct)
                    .ConfigureAwait(false);
                if (runningDomain is not null)
                {
                    File.Delete(source);
                }
            }

            var entry = await EntryAsync(disk, final, [request.Version, .. parentEntry?.Chain ?? []], ct).ConfigureAwait(false);
            entries.Add(parentEntry is null ? entry : entry with
            {
                Mode = BackupManifest.ModeIncremental,
                ParentVersion = parent!.Version,
                BackingFile = BackupLayout.RelativeBacking(parent.Version, file),
            });
        }

        var incremental = entries.Any(e => e.Mode == BackupManifest.ModeIncremental);
        if (!request.Full && parent is not null && !incremental)
        {
            fullBecause = $"the parent version {parent.Version} holds none of these disks";
        }

        var manifest = new BackupManifest
        {
            Kind = request.Volume is null ? BackupManifest.KindVm : BackupManifest.KindDisk,
            Domain = request.Domain,
            Version = request.Version,
            Mode = incremental ? BackupManifest.ModeIncremental : BackupManifest.ModeFull,
            Parent = incremental ? parent!.Version : null,
            Created = DateTimeOffset.UtcNow,
            Node = request.Node,
            Method = method,
            DomainXml = domainXml,
            AllDisks = request.AllDisks,
            Disks = entries,
        };
        crash.At(CrashPoints.BackupBeforeManifest);
        await BackupFiles.WriteManifestAsync(dir, manifest, ct).ConfigureAwait(false);
        return new BackupOutcome(manifest, AlreadyDone: false, fullBecause);
    }

    /// <summary>The manifest entry of a full data file <paramref name="dataFile"/> made from <paramref name="disk"/> (size and SHA-256 read from the file).</summary>
    public static async Task<BackupDiskEntry> EntryAsync(BackupSourceDisk disk, string dataFile, IReadOnlyList<string> chain, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(disk);
        return new BackupDiskEntry
        {
            Target = disk.Target,
            System = disk.System,
            Volume = disk.Volume,
            Pool = disk.Pool,
            SourcePath = disk.Path,
            SourceFormat = disk.Format,
            VirtualSize = disk.VirtualSize,
            Format = "qcow2",
            File = Path.GetFileName(dataFile),
            Bytes = new FileInfo(dataFile).Length,
            Sha256 = await BackupFiles.Sha256Async(dataFile, ct).ConfigureAwait(false),
            Mode = BackupManifest.ModeFull,
            Chain = chain,
        };
    }

    /// <summary>The data file name of a disk: <c>&lt;target&gt;.qcow2</c> in vm backups, <c>&lt;vol&gt;.qcow2</c> in disk backups.</summary>
    public static string FileName(BackupRequest request, BackupSourceDisk disk) =>
        $"{(request.Volume is null ? disk.Target : request.Volume)}.qcow2";

    /// <summary>
    /// One libvirt push-mode backup job of the running domain writing each disk of <paramref name="targets"/> (target dev →
    /// file) as a full qcow2 (other disks backup='no'); waits for the job and fails with libvirt's message when it did not complete.
    /// </summary>
    public static async Task PushBackupAsync(LibvirtDomain domain, IReadOnlyDictionary<string, string> targets, string what, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(targets);
        var live = XElement.Parse(domain.GetXmlDesc());
        var allTargets = live.Element("devices")?.Elements("disk").Select(d => (string?)d.Element("target")?.Attribute("dev")).OfType<string>() ?? [];
        var xml = new XElement("domainbackup", new XAttribute("mode", "push"),
            new XElement("disks", allTargets.Select(t => targets.TryGetValue(t, out var file)
                ? new XElement("disk", new XAttribute("name", t), new XAttribute("backup", "yes"), new XAttribute("type", "file"),
                    new XElement("target", new XAttribute("file", file)),
                    new XElement("driver", new XAttribute("type", "qcow2")))
                : new XElement("disk", new XAttribute("name", t), new XAttribute("backup", "no")))));
        domain.BackupBegin(xml.ToString());
        await WaitForJobAsync(domain, ct).ConfigureAwait(false);
        var outcome = domain.GetCompletedBackupJobOutcome();
        if (outcome.Type != BackupJobType.Completed)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{what}: libvirt's backup job of VM {domain.Name} on node {node} ended {outcome.Type}: {outcome.ErrorMessage ?? "libvirt gave no reason"}. " +
                "The next attempt starts again.", retryable: true);
        }

        foreach (var (target, file) in targets)
        {
            if (!File.Exists(file))
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"{what}: libvirt's backup job of VM {domain.Name} on node {node} completed but wrote no file for disk {target}.");
            }
        }
    }

    private static async Task WaitForJobAsync(LibvirtDomain domain, CancellationToken ct)
    {
        while (domain.GetBackupJobState().Type is not BackupJobType.None and not BackupJobType.Completed and not BackupJobType.Failed and not BackupJobType.Cancelled)
        {
            await Task.Delay(JobPollInterval, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A backup job of an interrupted attempt that still writes into <paramref name="dir"/> is aborted before the directory is replaced.</summary>
    private static async Task AbortOwnJobAsync(LibvirtDomain domain, string dir, CancellationToken ct)
    {
        var xml = domain.TryGetBackupXml();
        if (xml is null || !xml.Contains(dir + "/", StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            domain.AbortBackupJob();
        }
        catch (LibvirtException ex) when (ex.IsOperationInvalid)
        {
            // It ended meanwhile.
        }

        await WaitForJobAsync(domain, ct).ConfigureAwait(false);
    }
}
