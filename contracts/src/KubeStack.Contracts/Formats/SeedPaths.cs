using System.Text.RegularExpressions;
using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Formats;

/// <summary>
/// The seed's path rule (general constraint 2, decision path-rule): an absolute path <c>/xx/xx</c> under
/// <c>/var/lib/libvirt</c>, <c>/mnt/localfs</c> or <c>/mnt/usb</c>, 18-1024 characters of letters, digits, '.', '_',
/// '-' and '/'; no empty, '.' or '..' segment, none longer than 255 (Validation/PathRule plus the catalog's length
/// limits, for paths embedded in compound values). This is a lexical check; the agent still resolves symlinks on the host.
/// </summary>
public static partial class SeedPaths
{
    public const int MinLength = 18;
    public const int MaxLength = 1024;
    public const int MaxSegmentLength = PathRule.MaxSegmentLength;

    public static readonly IReadOnlyList<string> AllowedRoots = PathRule.DefaultRoots;

    /// <summary>Returns null when <paramref name="path"/> is allowed, else the broken rule as a sentence fragment ("must ...").</summary>
    public static string? Problem(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length < MinLength || path.Length > MaxLength)
        {
            return $"must be {MinLength}-{MaxLength} characters long (it has {path.Length})";
        }

        var problems = PathRule.Check(path, AllowedRoots);
        return problems.Count == 0 ? null : problems[0];
    }

    public static bool IsAllowed(string path) => Problem(path) is null;

    /// <summary>Checks a path and returns full-sentence errors naming <paramref name="what"/>.</summary>
    public static IReadOnlyList<string> Check(string path, string what = "The path")
    {
        var problem = Problem(path);
        return problem is null ? [] : [$"{what} '{Shorten(path)}' {problem}."];
    }

    /// <summary>Shortens long values in messages (a path can be 1024 characters).</summary>
    internal static string Shorten(string value) => value.Length <= 120 ? value : value[..117] + "...";
}

/// <summary>Disk target names (<c>vdX</c>, <c>hdX</c>, <c>sdX</c>) and the bus each prefix implies.</summary>
public static partial class DiskTargets
{
    public static bool IsValid(string target) => TargetPattern().IsMatch(target);

    /// <summary>The bus a target prefix implies: vd → virtio, hd → ide, sd → sata (the default for sdX here; scsi is allowed explicitly).</summary>
    public static string DefaultBus(string target) => target[..2] switch
    {
        "vd" => "virtio",
        "hd" => "ide",
        "sd" => "sata",
        _ => throw new ArgumentException($"'{target}' is not a disk target (vdX, hdX or sdX).", nameof(target)),
    };

    /// <summary>The buses a target prefix is compatible with.</summary>
    public static IReadOnlyList<string> CompatibleBuses(string target) => target[..2] switch
    {
        "vd" => ["virtio"],
        "hd" => ["ide"],
        "sd" => ["sata", "scsi", "usb"],
        _ => [],
    };

    /// <summary>The target prefix used for a bus when none is given (virtio → vd, ide → hd, others → sd).</summary>
    public static string PrefixFor(string bus) => bus switch
    {
        "virtio" => "vd",
        "ide" => "hd",
        _ => "sd",
    };

    [GeneratedRegex("^(vd|hd|sd)[a-z]$")]
    private static partial Regex TargetPattern();
}

/// <summary>libvirt's cpuset syntax: comma-separated <c>N</c>, <c>N-M</c> and exclusions <c>^N</c>.</summary>
public static partial class CpuSets
{
    public const int MaxCpu = 4095;

    /// <summary>Returns null when valid, else the broken rule as a sentence fragment.</summary>
    public static string? Problem(string cpuset)
    {
        if (cpuset.Length == 0)
        {
            return "must not be empty";
        }
        var positive = 0;
        foreach (var entry in cpuset.Split(','))
        {
            var match = EntryPattern().Match(entry);
            if (!match.Success)
            {
                return $"has the entry '{entry}', which is not N, N-M or ^N";
            }
            var from = int.Parse(match.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (from > MaxCpu)
            {
                return $"names CPU {from}, above {MaxCpu}";
            }
            if (match.Groups["to"].Success)
            {
                var to = int.Parse(match.Groups["to"].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (to < from || to > MaxCpu)
                {
                    return $"has the range '{entry}', whose end is below its start or above {MaxCpu}";
                }
            }
            if (!match.Groups["not"].Success)
            {
                positive++;
            }
        }
        return positive == 0 ? "must include at least one CPU" : null;
    }

    /// <summary>True for a token that continues a cpuset after a ',' (<c>8</c>, <c>8-20</c>, <c>^3</c>).</summary>
    internal static bool IsContinuation(string token) => EntryPattern().IsMatch(token);

    [GeneratedRegex(@"^(?<not>\^)?(?<from>[0-9]{1,5})(-(?<to>[0-9]{1,5}))?$")]
    private static partial Regex EntryPattern();
}
