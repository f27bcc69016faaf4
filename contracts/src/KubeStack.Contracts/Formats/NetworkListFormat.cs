namespace KubeStack.Contracts.Formats;

public enum NicType
{
    /// <summary><c>bridge</c>: a Linux bridge (libvirt's default virbr0 or any other).</summary>
    Bridge,

    /// <summary><c>l2bridge</c>: an Open vSwitch bridge.</summary>
    L2Bridge,

    /// <summary><c>l3bridge</c>: the OVN integration bridge (br-int) with a logical switch port.</summary>
    L3Bridge,
}

/// <summary>One NIC of the <c>network</c> parameter.</summary>
/// <param name="Source">The bridge the NIC plugs into.</param>
/// <param name="Ip">Fixed IPv4 address (l3bridge only).</param>
/// <param name="Switch">OVN logical switch name (l3bridge only).</param>
/// <param name="Model">virtio, e1000 or rtl8139; null means virtio.</param>
/// <param name="InboundKiB">Inbound bandwidth limit in KiB/s (libvirt's &lt;bandwidth&gt; unit).</param>
/// <param name="OutboundKiB">Outbound bandwidth limit in KiB/s.</param>
public sealed record NicSpec(
    NicType Type,
    string Source,
    string? Ip,
    string? Switch,
    string? Model,
    long? InboundKiB,
    long? OutboundKiB,
    string? Mac)
{
    public static string TypeName(NicType type) => type switch
    {
        NicType.Bridge => "bridge",
        NicType.L2Bridge => "l2bridge",
        NicType.L3Bridge => "l3bridge",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}

/// <summary>
/// Format <c>networkList</c>: <c>type=T,source=BR[,ip=IP][,switch=SW][,model=M][,inbound=KiB][,outbound=KiB][,mac=MAC]</c>,
/// keys in exactly that order (the catalog's rule), several NICs separated by <c>--network</c>. <c>ip</c> and
/// <c>switch</c> only with <c>type=l3bridge</c>. inbound/outbound are the network QoS limits in KiB/s (anomaly A010:
/// the second "I/O bandwidth" meaning is not a separate key).
/// </summary>
public static class NetworkListFormat
{
    public const string Name = "networkList";
    public const long MaxBandwidthKiB = 99_999_999;

    /// <summary>The mandatory key order.</summary>
    public static readonly IReadOnlyList<string> KeyOrder = ["type", "source", "ip", "switch", "model", "inbound", "outbound", "mac"];

    public static readonly IReadOnlyList<string> Models = ["virtio", "e1000", "rtl8139"];

    public static FormatResult<IReadOnlyList<NicSpec>> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (string.IsNullOrWhiteSpace(value))
        {
            return FormatResult<IReadOnlyList<NicSpec>>.Fail(["The network list is empty; give at least type=...,source=...."]);
        }
        var errors = new List<string>();
        var nics = new List<NicSpec>();
        var items = FormatSyntax.SplitOnFlag(value, "--network");
        for (var i = 0; i < items.Count; i++)
        {
            var nic = ParseItem(items[i], $"NIC {i + 1}", errors);
            if (nic is not null)
            {
                nics.Add(nic);
            }
        }
        foreach (var group in nics.Where(n => n.Mac is not null).GroupBy(n => n.Mac!.ToLowerInvariant()).Where(g => g.Count() > 1))
        {
            errors.Add($"The MAC address {group.Key} is used by {group.Count()} NICs; each NIC needs its own.");
        }
        foreach (var group in nics.Where(n => n.Ip is not null).GroupBy(n => n.Ip!).Where(g => g.Count() > 1))
        {
            errors.Add($"The IP address {group.Key} is used by {group.Count()} NICs; each NIC needs its own.");
        }
        return FormatResult<IReadOnlyList<NicSpec>>.From(nics, errors);
    }

    /// <summary>Parses one NIC (<c>type=...,source=...</c>); <paramref name="label"/> names it in messages.</summary>
    internal static NicSpec? ParseItem(string item, string label, List<string> errors)
    {
        if (item.Length == 0)
        {
            errors.Add($"{label} is empty (check the '--network' separators).");
            return null;
        }
        if (item.Any(char.IsWhiteSpace))
        {
            errors.Add($"{label} ('{SeedPaths.Shorten(item)}') contains whitespace; separate NICs with ' --network ' and keys with ','.");
            return null;
        }
        var before = errors.Count;
        var values = OrderedKeys(FormatSyntax.Tokens(item), KeyOrder, label, errors);
        if (values is null)
        {
            return null;
        }

        NicType? type = null;
        if (!values.TryGetValue("type", out var typeText))
        {
            errors.Add($"{label}: type is required (bridge, l2bridge or l3bridge).");
        }
        else
        {
            type = typeText switch
            {
                "bridge" => NicType.Bridge,
                "l2bridge" => NicType.L2Bridge,
                "l3bridge" => NicType.L3Bridge,
                _ => null,
            };
            if (type is null)
            {
                errors.Add($"{label}: type must be bridge, l2bridge or l3bridge (got '{typeText}').");
            }
        }

        var source = SourceKeys(values, type, label, errors);
        string? model = null;
        if (values.TryGetValue("model", out var modelText))
        {
            if (Models.Contains(modelText))
            {
                model = modelText;
            }
            else
            {
                errors.Add($"{label}: model must be virtio, e1000 or rtl8139 (got '{modelText}').");
            }
        }
        var inbound = Bandwidth(values, "inbound", label, errors);
        var outbound = Bandwidth(values, "outbound", label, errors);
        string? mac = null;
        if (values.TryGetValue("mac", out var macText))
        {
            var problem = FormatSyntax.CheckMac(macText);
            if (problem is null)
            {
                mac = macText.ToLowerInvariant();
            }
            else
            {
                errors.Add($"{label}: mac '{macText}' {problem}.");
            }
        }

        if (errors.Count > before || type is null || source is null)
        {
            return null;
        }
        return new NicSpec(type.Value, source.Value.Source, source.Value.Ip, source.Value.Switch, model, inbound, outbound, mac);
    }

    /// <summary>Checks <c>source</c>, <c>ip</c> and <c>switch</c> (shared with <see cref="NicSourceFormat"/>).</summary>
    internal static (string Source, string? Ip, string? Switch)? SourceKeys(
        IReadOnlyDictionary<string, string> values, NicType? type, string label, List<string> errors)
    {
        var before = errors.Count;
        if (!values.TryGetValue("source", out var source))
        {
            errors.Add($"{label}: source (the bridge to plug into, e.g. virbr0 or br-int) is required.");
        }
        else if (!FormatSyntax.IsInterfaceName(source))
        {
            errors.Add($"{label}: source '{source}' is not a bridge name (1-15 letters, digits, '_', '.', '-').");
        }
        values.TryGetValue("ip", out var ip);
        values.TryGetValue("switch", out var sw);
        if (ip is not null && !FormatSyntax.IsIpv4(ip))
        {
            errors.Add($"{label}: ip '{ip}' is not an IPv4 address (x.x.x.x, each x 0-255).");
        }
        if (sw is not null && !FormatSyntax.IsSeedName(sw))
        {
            errors.Add($"{label}: switch '{sw}' must be 4-100 characters of lowercase letters, digits, '-' and '.'.");
        }
        if (type is not null and not NicType.L3Bridge)
        {
            if (ip is not null)
            {
                errors.Add($"{label}: ip is only supported with type=l3bridge (this NIC is {NicSpec.TypeName(type.Value)}).");
            }
            if (sw is not null)
            {
                errors.Add($"{label}: switch is only supported with type=l3bridge (this NIC is {NicSpec.TypeName(type.Value)}).");
            }
        }
        return errors.Count > before || source is null ? null : (source, ip, sw);
    }

    /// <summary>Reads <c>key=value</c> tokens that must follow <paramref name="order"/> (each key at most once).</summary>
    internal static Dictionary<string, string>? OrderedKeys(
        IReadOnlyList<OptionToken> tokens, IReadOnlyList<string> order, string label, List<string> errors)
    {
        var before = errors.Count;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var lastIndex = -1;
        string? lastKey = null;
        foreach (var token in tokens)
        {
            if (token.Key is null)
            {
                errors.Add($"{label}: item {token.Position} ('{token.Value}') is not of the form key=value.");
                continue;
            }
            var index = IndexOf(order, token.Key);
            if (index < 0)
            {
                errors.Add($"{label}: unknown key '{token.Key}'; allowed keys, in this order: {string.Join(",", order)}.");
                continue;
            }
            if (!values.TryAdd(token.Key, token.Value))
            {
                errors.Add($"{label}: the key '{token.Key}' is given more than once.");
                continue;
            }
            if (token.Value.Length == 0)
            {
                errors.Add($"{label}: the key '{token.Key}' has an empty value.");
            }
            if (index < lastIndex)
            {
                errors.Add($"{label}: '{token.Key}' must come before '{lastKey}'; the order is {string.Join(",", order)}.");
            }
            else
            {
                lastIndex = index;
                lastKey = token.Key;
            }
        }
        return errors.Count > before ? null : values;
    }

    private static int IndexOf(IReadOnlyList<string> order, string key)
    {
        for (var i = 0; i < order.Count; i++)
        {
            if (order[i] == key)
            {
                return i;
            }
        }
        return -1;
    }

    private static long? Bandwidth(IReadOnlyDictionary<string, string> values, string key, string label, List<string> errors)
    {
        if (!values.TryGetValue(key, out var text))
        {
            return null;
        }
        if (FormatSyntax.TryParseInt64(text, 1, MaxBandwidthKiB, out var kib))
        {
            return kib;
        }
        errors.Add($"{label}: {key} must be a whole number of KiB/s from 1 to {MaxBandwidthKiB} (got '{text}').");
        return null;
    }
}

/// <summary>The <c>source</c> parameter of plugNIC: <c>source=BR[,ip=IP][,switch=SW]</c> in that order.</summary>
public sealed record NicSourceSpec(string Source, string? Ip, string? Switch);

/// <summary>Format <c>nicSource</c> (plugNIC <c>source</c>): <c>source=BR[,ip=IP][,switch=SW]</c>, keys in that order.</summary>
public static class NicSourceFormat
{
    public const string Name = "nicSource";

    public static readonly IReadOnlyList<string> KeyOrder = ["source", "ip", "switch"];

    /// <summary>Parses the value; pass the plugNIC <c>type</c> to also check that ip/switch are used only with l3bridge.</summary>
    public static FormatResult<NicSourceSpec> Parse(string value, NicType? type = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        const string label = "The NIC source";
        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsWhiteSpace))
        {
            return FormatResult<NicSourceSpec>.Fail([$"{label} must be source=BRIDGE[,ip=IP][,switch=SWITCH] without spaces."]);
        }
        var values = NetworkListFormat.OrderedKeys(FormatSyntax.Tokens(value), KeyOrder, label, errors);
        if (values is null)
        {
            return FormatResult<NicSourceSpec>.Fail(errors);
        }
        var source = NetworkListFormat.SourceKeys(values, type, label, errors);
        return source is null
            ? FormatResult<NicSourceSpec>.Fail(errors)
            : FormatResult<NicSourceSpec>.Ok(new NicSourceSpec(source.Value.Source, source.Value.Ip, source.Value.Switch));
    }
}
