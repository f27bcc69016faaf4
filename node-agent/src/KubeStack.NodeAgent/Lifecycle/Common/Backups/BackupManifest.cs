using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>
/// The manifest of one backup version (<c>kubestack-backups/&lt;domain&gt;/vm/&lt;version&gt;/manifest.json</c> or
/// <c>.../disks/&lt;vol&gt;/&lt;version&gt;/manifest.json</c>; docs/backup.md is the reference). It is written last, atomically,
/// so a version directory with a manifest is complete and one without is partial. Serialized as camelCase JSON.
/// </summary>
public sealed record BackupManifest
{
    /// <summary>The only format version this agent writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    public const string FileName = "manifest.json";

    public const string KindVm = "vm";
    public const string KindDisk = "disk";
    public const string ModeFull = "full";
    public const string ModeIncremental = "incremental";

    /// <summary>The disks were read through libvirt's backup job (virDomainBackupBegin, push mode) of the running VM.</summary>
    public const string MethodLibvirtBackup = "libvirt-backup";

    /// <summary>The disks were copied with qemu-img while no running VM used them.</summary>
    public const string MethodOfflineCopy = "offline-copy";

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary><see cref="KindVm"/> (backupVM) or <see cref="KindDisk"/> (backupDisk).</summary>
    public required string Kind { get; init; }

    /// <summary>The VM the backup belongs to (the directory under kubestack-backups/).</summary>
    public required string Domain { get; init; }

    /// <summary>The catalog's <c>version</c> (the directory name).</summary>
    public required string Version { get; init; }

    /// <summary><see cref="ModeFull"/> or <see cref="ModeIncremental"/> (then <see cref="Parent"/> is set).</summary>
    public required string Mode { get; init; }

    /// <summary>The version this incremental version builds on (same kind, same directory); null for a full one.</summary>
    public string? Parent { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>The node that made the backup.</summary>
    public required string Node { get; init; }

    /// <summary><see cref="MethodLibvirtBackup"/> or <see cref="MethodOfflineCopy"/>.</summary>
    public required string Method { get; init; }

    /// <summary>The VM's persistent domain XML at backup time (vm backups; null for disk backups). No secrets: read without VIR_DOMAIN_XML_SECURE.</summary>
    public string? DomainXml { get; init; }

    /// <summary>Whether the backup holds every disk of the VM (<c>all=true</c>) or only the system disk.</summary>
    public bool AllDisks { get; init; }

    public required IReadOnlyList<BackupDiskEntry> Disks { get; init; }

    /// <summary>The entry of the system disk (the first disk of the domain), when the backup holds it.</summary>
    [JsonIgnore]
    public BackupDiskEntry? SystemDisk => Disks.FirstOrDefault(d => d.System);
}

/// <summary>One disk of a backup version: where it came from and the data file that holds it.</summary>
public sealed record BackupDiskEntry
{
    /// <summary>The target device in the VM (<c>vda</c>); for a disk backup of an unattached disk, the volume name.</summary>
    public required string Target { get; init; }

    /// <summary>True for the VM's system disk (its first disk).</summary>
    public bool System { get; init; }

    /// <summary>The source volume's name (the VirtualMachineDisk name).</summary>
    public required string Volume { get; init; }

    /// <summary>The libvirt storage pool of the source volume; null when the disk file is in no pool.</summary>
    public string? Pool { get; init; }

    /// <summary>The source file at backup time.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The source's format (qcow2, raw).</summary>
    public required string SourceFormat { get; init; }

    /// <summary>The guest-visible size in bytes.</summary>
    public required long VirtualSize { get; init; }

    /// <summary>The data file's format (always qcow2).</summary>
    public required string Format { get; init; }

    /// <summary>The data file's name inside the version directory (no directory part).</summary>
    public required string File { get; init; }

    /// <summary>The data file's size in bytes.</summary>
    public required long Bytes { get; init; }

    /// <summary>Lower-case hex SHA-256 of the data file.</summary>
    public required string Sha256 { get; init; }

    /// <summary><see cref="BackupManifest.ModeFull"/> (a self-contained image) or <see cref="BackupManifest.ModeIncremental"/> (a qcow2 overlay).</summary>
    public required string Mode { get; init; }

    /// <summary>For an incremental disk: the version whose data file is this file's qcow2 backing file.</summary>
    public string? ParentVersion { get; init; }

    /// <summary>For an incremental disk: the backing file name written in the qcow2 header, relative (<c>../&lt;parent&gt;/&lt;file&gt;</c>).</summary>
    public string? BackingFile { get; init; }

    /// <summary>The versions needed to restore this disk, this one first, down to the full one.</summary>
    public required IReadOnlyList<string> Chain { get; init; }
}

/// <summary>The manifest on disk is unreadable or breaks a rule of the format.</summary>
public sealed class BackupFormatException(string path, string reason) : Exception($"The backup manifest {path} is invalid: {reason}.")
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>JSON (de)serialization of <see cref="BackupManifest"/> with its rules.</summary>
public static class BackupManifestJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(BackupManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var problem = Problem(manifest, null);
        if (problem is not null)
        {
            throw new InvalidOperationException($"Refusing to write an invalid backup manifest: {problem}.");
        }

        return JsonSerializer.Serialize(manifest, Options);
    }

    /// <summary>Parses and checks a manifest; <paramref name="expectedVersion"/> is the directory name it was found in.</summary>
    public static BackupManifest Deserialize(string json, string path, string? expectedVersion = null)
    {
        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BackupManifest>(json, Options);
        }
        catch (JsonException ex)
        {
            throw new BackupFormatException(path, $"it is not valid manifest JSON ({ex.Message})");
        }

        if (manifest is null)
        {
            throw new BackupFormatException(path, "it is empty (JSON null)");
        }

        var problem = Problem(manifest, expectedVersion);
        return problem is null ? manifest : throw new BackupFormatException(path, problem);
    }

    /// <summary>The first rule <paramref name="m"/> breaks, or null.</summary>
    public static string? Problem(BackupManifest m, string? expectedVersion)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.FormatVersion != BackupManifest.CurrentFormatVersion)
            return $"formatVersion is {m.FormatVersion}; this agent reads format {BackupManifest.CurrentFormatVersion}";
        if (m.Kind is not (BackupManifest.KindVm or BackupManifest.KindDisk))
            return $"kind must be vm or disk, not '{m.Kind}'";
        if (BackupNames.Problem(m.Domain) is { } d) return $"domain '{m.Domain}' {d}";
        if (BackupNames.Problem(m.Version) is { } v) return $"version '{m.Version}' {v}";
        if (expectedVersion is not null && m.Version != expectedVersion)
            return $"version is '{m.Version}' but the manifest lies in the directory of version '{expectedVersion}'";
        if (m.Mode is not (BackupManifest.ModeFull or BackupManifest.ModeIncremental))
            return $"mode must be full or incremental, not '{m.Mode}'";
        if (m.Mode == BackupManifest.ModeIncremental && m.Parent is null)
            return "an incremental version must name its parent";
        if (m.Parent is not null && (BackupNames.Problem(m.Parent) is not null || m.Parent == m.Version))
            return $"parent '{m.Parent}' is not a valid other version";
        if (m.Method is not (BackupManifest.MethodLibvirtBackup or BackupManifest.MethodOfflineCopy))
            return $"method must be {BackupManifest.MethodLibvirtBackup} or {BackupManifest.MethodOfflineCopy}, not '{m.Method}'";
        if (m.Kind == BackupManifest.KindVm && string.IsNullOrWhiteSpace(m.DomainXml))
            return "a vm backup must carry the domain XML";
        if (m.Disks is null || m.Disks.Count == 0)
            return "it lists no disks";
        var files = new HashSet<string>(StringComparer.Ordinal);
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in m.Disks)
        {
            if (BackupNames.Problem(disk.File) is { } f) return $"disk file name '{disk.File}' {f}";
            if (disk.File == BackupManifest.FileName) return "a disk file may not be called manifest.json";
            if (!files.Add(disk.File)) return $"disk file {disk.File} is listed twice";
            if (!targets.Add(disk.Target)) return $"disk target {disk.Target} is listed twice";
            if (disk.Sha256 is not { Length: 64 } || !disk.Sha256.All(char.IsAsciiHexDigitLower))
                return $"disk {disk.Target}: sha256 must be 64 lower-case hex digits";
            if (disk.Bytes < 0 || disk.VirtualSize <= 0) return $"disk {disk.Target}: bytes and virtualSize must be positive";
            if (disk.Mode is not (BackupManifest.ModeFull or BackupManifest.ModeIncremental))
                return $"disk {disk.Target}: mode must be full or incremental";
            if (disk.Chain is null || disk.Chain.Count == 0 || disk.Chain[0] != m.Version)
                return $"disk {disk.Target}: the chain must start with the version itself";
            if (disk.Mode == BackupManifest.ModeFull && (disk.Chain.Count != 1 || disk.ParentVersion is not null || disk.BackingFile is not null))
                return $"disk {disk.Target}: a full disk has no parent, no backing file and a chain of one";
            if (disk.Mode == BackupManifest.ModeIncremental)
            {
                if (disk.ParentVersion is null || disk.Chain.Count < 2 || disk.Chain[1] != disk.ParentVersion)
                    return $"disk {disk.Target}: an incremental disk names its parent version, second in its chain";
                if (disk.BackingFile != BackupLayout.RelativeBacking(disk.ParentVersion, disk.File))
                    return $"disk {disk.Target}: the backing file must be {BackupLayout.RelativeBacking(disk.ParentVersion, disk.File)}";
            }
        }

        if (m.Disks.Count(d => d.System) > 1) return "more than one disk is marked as the system disk";
        return null;
    }
}
