using System.Globalization;

namespace KubeStack.Contracts.Validation;

/// <summary>Addresses: IPv4, lists and ranges of them, subnets, MAC addresses and host names.</summary>
public static class NetworkFormats
{
    /// <summary>The separators of an address list: ',' and the full-width comma '，' of the documented example.</summary>
    public static readonly char[] ListSeparators = [',', '\uFF0C'];

    /// <summary>Subnet prefix lengths the catalog allows for a switch subnet (decision subnet-prefix).</summary>
    public static readonly IReadOnlyList<int> SubnetPrefixes = [8, 16, 24];

    /// <summary>Parses a dotted-quad IPv4 address: four decimal parts 0-255, no leading zeros, no spaces.</summary>
    public static bool TryParseIpv4(string value, out uint address)
    {
        address = 0;
        var parts = value.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            var octet = int.Parse(part, CultureInfo.InvariantCulture);
            if (octet > 255)
            {
                return false;
            }

            address = (address << 8) | (uint)octet;
        }

        return true;
    }

    public static bool IsIpv4(string value) => TryParseIpv4(value, out _);

    /// <summary>Parses a.b.c.d/p.</summary>
    public static bool TryParseCidr(string value, out uint address, out int prefix)
    {
        address = 0;
        prefix = -1;
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return false;
        }

        var p = value[(slash + 1)..];
        if (p.Length is 0 or > 2 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0'))
        {
            return false;
        }

        prefix = int.Parse(p, CultureInfo.InvariantCulture);
        return prefix <= 32 && TryParseIpv4(value[..slash], out address);
    }

    public static bool Contains(uint network, int prefix, uint address)
    {
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        return (network & mask) == (address & mask);
    }

    /// <summary>Splits an address list on ',' or '，', trimming spaces around each item.</summary>
    public static IReadOnlyList<string> SplitList(string value) =>
        value.Split(ListSeparators).Select(s => s.Trim(' ')).ToList();

    internal static IReadOnlyList<string> CheckIpv4(string value) =>
        IsIpv4(value) ? [] : ["must be an IPv4 address a.b.c.d with four decimal parts from 0 to 255 and no leading zeros"];

    internal static IReadOnlyList<string> CheckIpv4List(string value)
    {
        var problems = new List<string>();
        var items = SplitList(value);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Length == 0)
            {
                problems.Add($"must be IPv4 addresses separated by ',' but item {i + 1} is empty");
            }
            else if (!IsIpv4(items[i]))
            {
                problems.Add($"must be IPv4 addresses separated by ',' but item {i + 1} ({items[i]}) is not an IPv4 address a.b.c.d with parts from 0 to 255");
            }
        }

        return problems;
    }

    internal static IReadOnlyList<string> CheckSubnet(string value)
    {
        if (!TryParseCidr(value, out _, out var prefix))
        {
            return ["must be a subnet a.b.c.d/p (an IPv4 address and a prefix length)"];
        }

        return SubnetPrefixes.Contains(prefix) ? [] : [$"must have a prefix length of 8, 16 or 24, not {prefix}"];
    }

    internal static IReadOnlyList<string> CheckIpv4OptionalPrefix(string value)
    {
        if (value.Contains('/', StringComparison.Ordinal))
        {
            return TryParseCidr(value, out _, out var prefix) && prefix >= 1
                ? []
                : ["must be an IPv4 address, optionally followed by /p with a prefix length from 1 to 32"];
        }

        return CheckIpv4(value);
    }

    /// <summary>Items of an exclusion list: single addresses and ranges a..b, separated by spaces.</summary>
    public static IReadOnlyList<(uint From, uint To)> ParseExcludeList(string value, List<string>? problems = null)
    {
        var ranges = new List<(uint, uint)>();
        var items = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0)
        {
            problems?.Add("must list at least one IPv4 address or range");
        }

        foreach (var item in items)
        {
            var dots = item.IndexOf("..", StringComparison.Ordinal);
            if (dots < 0)
            {
                if (TryParseIpv4(item, out var a))
                {
                    ranges.Add((a, a));
                }
                else
                {
                    problems?.Add($"must list IPv4 addresses or ranges a..b separated by spaces, but '{item}' is neither");
                }

                continue;
            }

            if (TryParseIpv4(item[..dots], out var from) && TryParseIpv4(item[(dots + 2)..], out var to))
            {
                if (from > to)
                {
                    problems?.Add($"has the range '{item}' whose start is above its end");
                }
                else
                {
                    ranges.Add((from, to));
                }
            }
            else
            {
                problems?.Add($"must list IPv4 addresses or ranges a..b separated by spaces, but '{item}' is not a valid range");
            }
        }

        return ranges;
    }

    internal static IReadOnlyList<string> CheckExcludeList(string value)
    {
        var problems = new List<string>();
        ParseExcludeList(value, problems);
        return problems;
    }

    /// <summary>Parses six colon-separated hex octets.</summary>
    public static bool TryParseMac(string value, out byte[] octets)
    {
        octets = new byte[6];
        var parts = value.Split(':');
        if (parts.Length != 6)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !parts[i].All(char.IsAsciiHexDigit))
            {
                return false;
            }

            octets[i] = byte.Parse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        return true;
    }

    internal static IReadOnlyList<string> CheckMac(string value)
    {
        if (!TryParseMac(value, out var octets))
        {
            return ["must be a MAC address of six two-digit hex octets separated by ':' (7e:0c:b0:ef:6a:04)"];
        }

        if (octets[0] == 0xfe)
        {
            return ["must not start with fe (reserved by libvirt for host-side tap devices)"];
        }

        if ((octets[0] & 1) == 1)
        {
            return ["must be a unicast MAC address (the lowest bit of the first octet must be 0)"];
        }

        return octets.All(o => o == 0) ? ["must not be the all-zero MAC address"] : [];
    }

    /// <summary>An IPv4 address or a DNS host name (RFC 1123 labels of 1-63 letters, digits and '-').</summary>
    public static bool IsHost(string value)
    {
        if (IsIpv4(value))
        {
            return true;
        }

        if (value.Length is 0 or > 253)
        {
            return false;
        }

        var labels = value.Split('.');
        if (labels.All(l => l.Length > 0 && l.All(char.IsAsciiDigit)))
        {
            return false; // looks like an address but is not a valid one
        }

        return labels.All(l => l.Length is >= 1 and <= 63 && l[0] != '-' && l[^1] != '-'
                               && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    internal static IReadOnlyList<string> CheckHost(string value) =>
        IsHost(value) ? [] : ["must be an IPv4 address or a DNS host name (labels of letters, digits and '-', separated by '.')"];
}
