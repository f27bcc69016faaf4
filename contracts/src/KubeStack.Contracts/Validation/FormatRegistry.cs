using KubeStack.Contracts.Formats;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// Maps a rule's <c>format</c> to its checker. The formats of this folder return phrases ("must ..."); the compound
/// seed formats are parsed by <see cref="SeedFormats.Check"/> (Formats/), which returns full sentences.
/// </summary>
public static class FormatRegistry
{
    private static readonly Dictionary<string, Func<string, IReadOnlyList<string>>> Local = new(StringComparer.Ordinal)
    {
        ["name"] = NameRules.CheckName,
        ["path"] = v => PathRule.Check(v),
        ["ipv4"] = NetworkFormats.CheckIpv4,
        ["ipv4List"] = NetworkFormats.CheckIpv4List,
        ["ipv4OptionalPrefix"] = NetworkFormats.CheckIpv4OptionalPrefix,
        ["cidr"] = NetworkFormats.CheckSubnet,
        ["excludeIps"] = NetworkFormats.CheckExcludeList,
        ["mac"] = NetworkFormats.CheckMac,
        ["host"] = NetworkFormats.CheckHost,
        ["aclRule"] = AclRule.Check,
        ["sshPublicKey"] = ValueFormats.CheckSshPublicKey,
        ["cloudInitUserData"] = ValueFormats.CheckCloudInitUserData,
        // The pool URL depends on the pool type: checked by the cross-field rules of createPool.
        ["poolUrl"] = _ => [],
    };

    /// <summary>Formats of Boolean parameters.</summary>
    public const string MustBeTrue = "mustBeTrue";

    /// <summary>
    /// Checks this library adds after a compound format's own parser: metadata must carry a real UUID
    /// (decision metadata-uuid), while the shared parser keeps the documented 12-36 character shape.
    /// </summary>
    private static readonly Dictionary<string, Func<string, IReadOnlyList<string>>> Stricter = new(StringComparer.Ordinal)
    {
        ["metadataUuid"] = ValueFormats.CheckMetadataUuid,
    };

    public static bool IsKnown(string format) => Local.ContainsKey(format) || IsSeedFormat(format) || format == MustBeTrue;

    /// <summary>
    /// True for the compound formats parsed in Formats/ (the same parsers the agent uses to build XML), so that
    /// admission and execution never disagree. The path rule stays here (<see cref="PathRule"/>, used by <see cref="SafePath"/>).
    /// </summary>
    public static bool IsSeedFormat(string format) => !Local.ContainsKey(format) && SeedFormats.IsKnown(format);

    /// <summary>Problems of <paramref name="value"/> under <paramref name="format"/>.</summary>
    /// <returns>Phrases ("must ...") for local formats and stricter checks; full sentences for the compound formats.</returns>
    public static IReadOnlyList<string> Check(string format, string value)
    {
        if (Local.TryGetValue(format, out var check))
        {
            return check(value);
        }

        if (IsSeedFormat(format))
        {
            var problems = SeedFormats.Check(format, value);
            return problems.Count == 0 && Stricter.TryGetValue(format, out var stricter) ? stricter(value) : problems;
        }

        throw new InvalidOperationException($"The catalog names the format '{format}', which the validation library does not know.");
    }
}
