using System.Collections.Frozen;

namespace KubeStack.Contracts.Formats;

/// <summary>
/// Entry point for the seed's compound string formats (the <c>--disk</c> list, the ordered <c>network</c> key list,
/// <c>graphics</c>, <c>vcpus</c>, ...). Each format has a pure parser in this folder that both the validation
/// library (to report errors) and the domain builder (to build XML) use. The grammars are in docs/formats.md.
/// </summary>
public static class SeedFormats
{
    /// <summary>Format <c>path</c>: one path under the path rule (<see cref="SeedPaths"/>).</summary>
    public const string Path = "path";

    private static readonly FrozenDictionary<string, Func<string, IReadOnlyList<string>>> Checks =
        new Dictionary<string, Func<string, IReadOnlyList<string>>>(StringComparer.Ordinal)
        {
            [DiskListFormat.Name] = v => DiskListFormat.Parse(v).Errors,
            [NetworkListFormat.Name] = v => NetworkListFormat.Parse(v).Errors,
            [NicSourceFormat.Name] = v => NicSourceFormat.Parse(v).Errors,
            [GraphicsFormat.Name] = v => GraphicsFormat.Parse(v).Errors,
            [VcpusFormat.Name] = v => VcpusFormat.Parse(v).Errors,
            [CpuTuneFormat.Name] = v => CpuTuneFormat.Parse(v).Errors,
            [MetadataUuidFormat.Name] = v => MetadataUuidFormat.Parse(v).Errors,
            [RedirDevFormat.Name] = v => RedirDevFormat.Parse(v).Errors,
            [DiskSpecFormat.Name] = v => DiskSpecFormat.Parse(v).Errors,
            [MigrateDisksFormat.Name] = v => MigrateDisksFormat.Parse(v).Errors,
            [StorageListFormat.Name] = v => StorageListFormat.Parse(v).Errors,
            [FileListFormat.Name] = v => FileListFormat.Parse(v).Errors,
            [DiskTargetListFormat.Name] = v => DiskTargetListFormat.Parse(v).Errors,
            [Path] = v => SeedPaths.Check(v),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The format names <see cref="Check"/> knows.</summary>
    public static IReadOnlyCollection<string> Names => Checks.Keys;

    public static bool IsKnown(string format) => Checks.ContainsKey(format);

    /// <summary>Checks <paramref name="value"/> against the named format; returns one full sentence per problem.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The format name is not one of <see cref="Names"/>.</exception>
    public static IReadOnlyList<string> Check(string format, string value)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(value);
        if (!Checks.TryGetValue(format, out var check))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format,
                $"Unknown seed format '{format}'; known formats: {string.Join(", ", Checks.Keys.Order(StringComparer.Ordinal))}.");
        }
        return check(value);
    }
}
