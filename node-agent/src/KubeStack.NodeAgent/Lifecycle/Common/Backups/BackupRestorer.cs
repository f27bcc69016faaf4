using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>A disk of a verified version: its manifest entry and the data file to read (its backing chain checked too).</summary>
public sealed record VerifiedDisk(BackupDiskEntry Entry, string DataPath);

/// <summary>One restore step: a verified disk flattened into <see cref="Destination"/> in <see cref="Format"/>.</summary>
public sealed record RestoreItem(VerifiedDisk Disk, string Destination, string Format);

/// <summary>
/// Reads a version for a restore: complete, and every data file of every version in each chosen disk's chain present
/// with its recorded size and SHA-256; then flattens the chains into temporary files beside their destinations and
/// renames them into place only when all are written (docs/backup.md, Restore).
/// </summary>
public sealed class BackupRestorer(QemuImg qemuImg)
{
    /// <summary>The hidden temporary file a restore writes before the rename.</summary>
    public static string TemporaryPath(string destination) =>
        $"{Path.GetDirectoryName(destination)}/.{Path.GetFileName(destination)}.restore.part";

    /// <summary>
    /// The version's manifest and its disks chosen by <paramref name="select"/>, verified. Refuses (VirtctlError) a missing,
    /// incomplete or damaged version and any data file that does not match its manifest, naming it.
    /// </summary>
    public async Task<(BackupManifest Manifest, IReadOnlyList<VerifiedDisk> Disks)> LoadVerifiedAsync(BackupStore store, string version,
        Func<BackupDiskEntry, bool> select, string operation, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(select);
        var manifest = await RequireCompleteAsync(store, version, operation, node, ct).ConfigureAwait(false);
        var manifests = new Dictionary<string, BackupManifest>(StringComparer.Ordinal) { [version] = manifest };
        var result = new List<VerifiedDisk>();
        foreach (var entry in manifest.Disks.Where(select))
        {
            foreach (var link in entry.Chain)
            {
                if (!manifests.TryGetValue(link, out var linkManifest))
                {
                    linkManifest = manifests[link] = await RequireCompleteAsync(store, link, operation, node, ct, $" (needed by version {version})")
                        .ConfigureAwait(false);
                }

                var linkEntry = linkManifest.Disks.FirstOrDefault(d => d.File == entry.File) ?? throw BackupStore.Refused(
                    $"{operation} is refused on node {node}: version {link} of the {store.Scope} backups of {store.Domain} has no data file {entry.File}, " +
                    $"which version {version} needs for disk {entry.Target}. Nothing was changed.");
                var path = BackupLayout.FileIn(store.VersionDirectory(link), linkEntry.File);
                var file = new FileInfo(store.Layout.Check(path));
                if (!file.Exists || file.Length != linkEntry.Bytes)
                {
                    throw BackupStore.Refused($"{operation} is refused on node {node}: the backup data file {path} is " +
                        (file.Exists ? $"{file.Length} bytes, the manifest says {linkEntry.Bytes}" : "missing") + ". Nothing was changed.");
                }

                var sha = await BackupFiles.Sha256Async(path, ct).ConfigureAwait(false);
                if (sha != linkEntry.Sha256)
                {
                    throw BackupStore.Refused($"{operation} is refused on node {node}: the backup data file {path} does not match its checksum " +
                        $"(sha256 {sha}, the manifest says {linkEntry.Sha256}); the backup is damaged. Nothing was changed.");
                }
            }

            result.Add(new VerifiedDisk(entry, BackupLayout.FileIn(store.VersionDirectory(version), entry.File)));
        }

        return (manifest, result);
    }

    private static async Task<BackupManifest> RequireCompleteAsync(BackupStore store, string version, string operation, string node, CancellationToken ct,
        string why = "")
    {
        var state = await store.FindAsync(version, ct).ConfigureAwait(false);
        return state switch
        {
            null => throw BackupStore.Refused($"{operation} is refused on node {node}: there is no {store.Scope} backup version {version} of {store.Domain} " +
                $"in {store.Root}{why}."),
            { IsComplete: true, Manifest: { } m } => m,
            _ => throw BackupStore.Refused($"{operation} is refused on node {node}: the {store.Scope} backup version {version} of {store.Domain} is " +
                $"{state.State}{why}: {state.Problem}. Nothing was changed."),
        };
    }

    /// <summary>
    /// Flattens each item into a temporary file beside its destination, then renames all into place. Destinations are
    /// checked with <see cref="SafePath"/>. A failure removes the temporary files and leaves the destinations as they were.
    /// </summary>
    public async Task MaterializeAsync(IReadOnlyList<RestoreItem> items, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(items);
        var temporaries = new List<(string Temporary, string Destination)>();
        try
        {
            foreach (var item in items)
            {
                var destination = SafePath.Resolve(item.Destination);
                var temporary = TemporaryPath(destination);
                File.Delete(temporary);
                temporaries.Add((temporary, destination));
                await qemuImg.ConvertAsync(item.Disk.DataPath, temporary, item.Format, "qcow2", cancellationToken: ct).ConfigureAwait(false);
                BackupFiles.Sync(temporary);
            }

            foreach (var (temporary, destination) in temporaries)
            {
                File.Move(temporary, destination, overwrite: true);
            }

            foreach (var directory in temporaries.Select(t => Path.GetDirectoryName(t.Destination)!).Distinct(StringComparer.Ordinal))
            {
                BackupFiles.Sync(directory);
            }
        }
        catch
        {
            foreach (var (temporary, _) in temporaries)
            {
                File.Delete(temporary);
            }

            throw;
        }
    }
}
