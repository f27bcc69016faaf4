using KubeStack.Contracts.Validation;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>The rules for names that become path segments of the backup area (domain, vol, version, file names).</summary>
public static class BackupNames
{
    public const int MaxLength = 100;

    /// <summary>Why <paramref name="name"/> cannot be a path segment ("must ..."), or null: 1-100 characters, a letter or
    /// digit first, then letters, digits, '.', '_', '-' (docs/decisions.md backup-identifiers); so no '/', no '..', no hidden names.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "must not be empty";
        if (name.Length > MaxLength) return $"must be at most {MaxLength} characters";
        if (!char.IsAsciiLetterOrDigit(name[0])) return "must start with a letter or digit";
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return "may contain only letters, digits, '.', '_' and '-'";
        if (name.Contains("..", StringComparison.Ordinal)) return "must not contain '..'";
        return null;
    }

    /// <summary>Throws <see cref="RequestParameterException"/> naming <paramref name="operation"/>.<paramref name="parameter"/> when the name breaks the rule.</summary>
    public static string Require(string name, string parameter, string operation) =>
        Problem(name) is { } p ? throw new RequestParameterException(parameter, $"{operation}.{parameter} '{name}' {p}.") : name;

    /// <summary>A required request parameter that must be a backup name.</summary>
    public static string Parameter(System.Text.Json.Nodes.JsonObject parameters, string key, string operation) =>
        Require(StorageParameters.Required(parameters, key, operation), key, operation);

    /// <summary>An optional request parameter that must be a backup name when given.</summary>
    public static string? OptionalParameter(System.Text.Json.Nodes.JsonObject parameters, string key, string operation) =>
        StorageParameters.Optional(parameters, key) is { } value ? Require(value, key, operation) : null;
}

/// <summary>
/// The backup area of one storage pool (docs/backup.md): <c>&lt;pool dir&gt;/kubestack-backups/&lt;domain&gt;/vm/&lt;version&gt;/</c> and
/// <c>&lt;pool dir&gt;/kubestack-backups/&lt;domain&gt;/disks/&lt;vol&gt;/&lt;version&gt;/</c>. The root is resolved with <see cref="SafePath"/>
/// (inside the allowed roots, every link followed); every path below it is built from checked names and must resolve to
/// itself: a symbolic link anywhere inside the area is refused, so nothing outside the area is ever read, written or removed.
/// </summary>
public sealed class BackupLayout
{
    public const string AreaName = "kubestack-backups";
    public const string VmDirectory = "vm";
    public const string DisksDirectory = "disks";

    private BackupLayout(string root)
    {
        Root = root;
    }

    /// <summary>The real path of <c>&lt;pool dir&gt;/kubestack-backups</c>.</summary>
    public string Root { get; }

    /// <summary>The area of a pool whose directory is <paramref name="poolDirectory"/>; throws <see cref="UnsafePathException"/> when it lies outside the allowed roots.</summary>
    public static BackupLayout ForPoolDirectory(string poolDirectory, IReadOnlyList<string>? roots = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(poolDirectory);
        return new BackupLayout(SafePath.Resolve($"{poolDirectory.TrimEnd('/')}/{AreaName}", roots));
    }

    /// <summary>The backing file name an incremental data file records: its parent's file in the sibling version directory.</summary>
    public static string RelativeBacking(string parentVersion, string file) => $"../{parentVersion}/{file}";

    public string DomainDirectory(string domain) => Below(Root, domain);

    public string VmRoot(string domain) => Below(DomainDirectory(domain), VmDirectory);

    public string VmVersion(string domain, string version) => Below(VmRoot(domain), version);

    public string DisksRoot(string domain) => Below(DomainDirectory(domain), DisksDirectory);

    public string DiskRoot(string domain, string volume) => Below(DisksRoot(domain), volume);

    public string DiskVersion(string domain, string volume, string version) => Below(DiskRoot(domain, volume), version);

    /// <summary>The directory of versions for a kind of backup: <see cref="VmRoot"/> or <see cref="DiskRoot"/>.</summary>
    public string VersionsRoot(string domain, string? volume) => volume is null ? VmRoot(domain) : DiskRoot(domain, volume);

    /// <summary>A file inside a version directory (name checked).</summary>
    public static string FileIn(string versionDirectory, string file) => Below(versionDirectory, file);

    /// <summary>
    /// Checks that <paramref name="path"/> (made by this class) is inside the area and reaches itself without any symbolic
    /// link; returns it. Throws <see cref="UnsafePathException"/> otherwise.
    /// </summary>
    public string Check(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path != Root && !path.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            throw new UnsafePathException(path, $"is outside the backup area {Root}");
        }

        var real = SafePath.Resolve(path, [Path.GetDirectoryName(Root)!]);
        if (real != path)
        {
            throw new UnsafePathException(path, $"resolves through a symbolic link to {real}; links inside the backup area {Root} are refused");
        }

        return path;
    }

    /// <summary>Creates <paramref name="directory"/> (and its parents inside the area) after checking it; returns it.</summary>
    public string Create(string directory)
    {
        Check(directory);
        Directory.CreateDirectory(directory);
        return Check(directory);
    }

    private static string Below(string parent, string segment)
    {
        if (BackupNames.Problem(segment) is { } problem)
        {
            throw new ArgumentException($"'{segment}' cannot be a path segment of the backup area: it {problem}.", nameof(segment));
        }

        return $"{parent}/{segment}";
    }
}
