using KubeStack.Contracts.Resources;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>What a scan found in one version directory.</summary>
public sealed record BackupVersionState(string Scope, string Version, string Directory, string State, BackupManifest? Manifest, string? Problem)
{
    public const string Complete = "complete";
    public const string Incomplete = "incomplete";
    public const string Damaged = "damaged";

    public bool IsComplete => State == Complete;
}

/// <summary>
/// The versions of one backup directory (<c>vm/</c> or <c>disks/&lt;vol&gt;/</c> of a domain): listing with states, the newest
/// complete one, who depends on whom, removal. Every path goes through <see cref="BackupLayout.Check"/>.
/// </summary>
public sealed class BackupStore(BackupLayout layout, string domain, string? volume)
{
    public BackupLayout Layout { get; } = layout;
    public string Domain { get; } = domain;
    public string? Volume { get; } = volume;

    /// <summary>"vm" or "disk &lt;vol&gt;", for messages and scan results.</summary>
    public string Scope => Volume is null ? BackupManifest.KindVm : $"disk {Volume}";

    public string Root => Layout.VersionsRoot(Domain, Volume);

    public string VersionDirectory(string version) => Volume is null ? Layout.VmVersion(Domain, version) : Layout.DiskVersion(Domain, Volume, version);

    /// <summary>Every version directory with its state, oldest first (complete ones by creation time, then the rest by name).</summary>
    public async Task<IReadOnlyList<BackupVersionState>> ListAsync(CancellationToken ct)
    {
        if (!Directory.Exists(Layout.Check(Root)))
        {
            return [];
        }

        var states = new List<BackupVersionState>();
        foreach (var dir in Directory.EnumerateFileSystemEntries(Root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (BackupNames.Problem(name) is not null)
            {
                states.Add(new BackupVersionState(Scope, name, dir, BackupVersionState.Damaged, null, "the entry's name is not a version name"));
                continue;
            }

            states.Add(await InspectAsync(name, ct).ConfigureAwait(false));
        }

        return [.. states.OrderBy(s => s.Manifest?.Created ?? DateTimeOffset.MaxValue).ThenBy(s => s.Version, StringComparer.Ordinal)];
    }

    /// <summary>The state of one version (null when its directory does not exist).</summary>
    public async Task<BackupVersionState?> FindAsync(string version, CancellationToken ct) =>
        Directory.Exists(VersionDirectory(version)) || File.Exists(VersionDirectory(version)) ? await InspectAsync(version, ct).ConfigureAwait(false) : null;

    private async Task<BackupVersionState> InspectAsync(string version, CancellationToken ct)
    {
        var dir = VersionDirectory(version);
        try
        {
            Layout.Check(dir);
            if (!Directory.Exists(dir))
            {
                return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, null, "it is a file, not a version directory");
            }

            var manifest = await BackupFiles.ReadManifestAsync(dir, ct).ConfigureAwait(false);
            if (manifest is null)
            {
                return new BackupVersionState(Scope, version, dir, BackupVersionState.Incomplete, null, "it has no manifest.json (an interrupted backup)");
            }

            var expectedKind = Volume is null ? BackupManifest.KindVm : BackupManifest.KindDisk;
            if (manifest.Kind != expectedKind || manifest.Domain != Domain)
            {
                return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, manifest,
                    $"its manifest is a {manifest.Kind} backup of {manifest.Domain}, not a {expectedKind} backup of {Domain}");
            }

            foreach (var disk in manifest.Disks)
            {
                var file = new FileInfo(BackupLayout.FileIn(dir, disk.File));
                if (!file.Exists || file.LinkTarget is not null)
                {
                    return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, manifest, $"its data file {disk.File} is missing");
                }

                if (file.Length != disk.Bytes)
                {
                    return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, manifest,
                        $"its data file {disk.File} has {file.Length} bytes, the manifest says {disk.Bytes}");
                }
            }

            return new BackupVersionState(Scope, version, dir, BackupVersionState.Complete, manifest, null);
        }
        catch (BackupFormatException ex)
        {
            return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, null, ex.Reason);
        }
        catch (KubeStack.Contracts.Validation.UnsafePathException ex)
        {
            return new BackupVersionState(Scope, version, dir, BackupVersionState.Damaged, null, $"it {ex.Reason}");
        }
    }

    /// <summary>The complete versions whose chains (of any disk) contain <paramref name="version"/>, other than itself.</summary>
    public static IReadOnlyList<string> DependantsOf(IEnumerable<BackupVersionState> versions, string version) =>
        [.. versions.Where(v => v.Manifest is { } m && m.Version != version && m.Disks.Any(d => d.Chain.Contains(version)))
            .Select(v => v.Version).Order(StringComparer.Ordinal)];

    /// <summary>Removes a version directory (checked: inside the area, no link; the recursive delete does not follow links), then empty parents up to the area.</summary>
    public void Remove(string version)
    {
        var dir = Layout.Check(VersionDirectory(version));
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        else if (File.Exists(dir))
        {
            File.Delete(dir);
        }

        RemoveEmptyParents();
    }

    /// <summary>Removes the empty version root, disks/ and domain directories (never the area root).</summary>
    public void RemoveEmptyParents()
    {
        var candidates = Volume is null
            ? new[] { Layout.VmRoot(Domain), Layout.DomainDirectory(Domain) }
            : [Layout.DiskRoot(Domain, Volume), Layout.DisksRoot(Domain), Layout.DomainDirectory(Domain)];
        foreach (var dir in candidates)
        {
            if (Directory.Exists(Layout.Check(dir)) && !Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Directory.Delete(dir);
            }
        }
    }

    /// <summary>The stores of every disk directory of the domain (disks/*), sorted by volume.</summary>
    public static IReadOnlyList<BackupStore> DiskStores(BackupLayout layout, string domain)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var root = layout.Check(layout.DisksRoot(domain));
        if (!Directory.Exists(root))
        {
            return [];
        }

        return [.. Directory.EnumerateDirectories(root).Select(Path.GetFileName).Where(n => BackupNames.Problem(n) is null)
            .Order(StringComparer.Ordinal).Select(n => new BackupStore(layout, domain, n))];
    }

    /// <summary>A refusal (VirtctlError) with a full sentence.</summary>
    public static StorageRefusedException Refused(string message) => new(ErrorClasses.VirtctlError, message);
}
