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
        ["metadataUuid"] = ValueFormats.CheckMetadataUuid,
        ["redirdev"] = ValueFormats.CheckRedirdev,
        ["storageList"] = ValueFormats.CheckStorageList,
        ["nicSource"] = ValueFormats.CheckNicSource,
        ["fileList"] = ValueFormats.CheckFileList,
        ["diskTargetList"] = ValueFormats.CheckDiskTargetList,
        ["sshPublicKey"] = ValueFormats.CheckSshPublicKey,
        ["cloudInitUserData"] = ValueFormats.CheckCloudInitUserData,
        // The pool URL depends on the pool type: checked by the cross-field rules of createPool.
        ["poolUrl"] = _ => [],
    };

    /// <summary>Formats of Boolean parameters.</summary>
    public const string MustBeTrue = "mustBeTrue";

    /// <summary>The compound formats whose parsers live in Formats/ (SeedFormats.Check).</summary>
    public static readonly IReadOnlySet<string> SeedFormatNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "graphics", "diskList", "networkList", "vcpus", "cputune", "migratedisks", "diskspec",
    };

    public static bool IsKnown(string format) =>
        Local.ContainsKey(format) || SeedFormatNames.Contains(format) || format == MustBeTrue;

    public static bool IsSeedFormat(string format) => SeedFormatNames.Contains(format);

    /// <summary>Problems of <paramref name="value"/> under <paramref name="format"/>.</summary>
    /// <returns>Phrases for local formats; full sentences (IsSeedFormat) for the compound formats.</returns>
    public static IReadOnlyList<string> Check(string format, string value)
    {
        if (Local.TryGetValue(format, out var check))
        {
            return check(value);
        }

        if (SeedFormatNames.Contains(format))
        {
            return SeedFormats.Check(format, value);
        }

        throw new InvalidOperationException($"The catalog names the format '{format}', which the validation library does not know.");
    }
}
