using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace KubeStack.Contracts.Formats;

/// <summary>The outcome of parsing one seed format: the typed value, or full-sentence errors (never both).</summary>
public sealed record FormatResult<T>
    where T : class
{
    private FormatResult(T? value, IReadOnlyList<string> errors)
    {
        Value = value;
        Errors = errors;
    }

    /// <summary>The parsed value; null when <see cref="Errors"/> is not empty.</summary>
    public T? Value { get; }

    /// <summary>One full sentence per broken rule, naming the item and the rule (never a secret value).</summary>
    public IReadOnlyList<string> Errors { get; }

    public bool IsValid => Errors.Count == 0;

    public static FormatResult<T> Ok(T value) => new(value, []);

    public static FormatResult<T> Fail(IReadOnlyList<string> errors)
    {
        if (errors.Count == 0)
        {
            throw new ArgumentException("A failed result needs at least one error.", nameof(errors));
        }
        return new(null, errors);
    }

    internal static FormatResult<T> From(T value, List<string> errors) => errors.Count == 0 ? Ok(value) : Fail(errors);

    /// <summary>The value, or an exception carrying all errors (for callers that validated before).</summary>
    public T GetValueOrThrow() => Value ?? throw new FormatException(string.Join(" ", Errors));
}

/// <summary>One <c>key=value</c> (or bare) token of a comma-separated option list.</summary>
internal readonly record struct OptionToken(string? Key, string Value, int Position);

/// <summary>Helpers shared by the parsers: splitting lists and option tokens, numbers, addresses.</summary>
internal static partial class FormatSyntax
{
    /// <summary>Splits <c>a --flag b --flag c</c> on the flag (surrounded by whitespace); a leading flag is allowed.</summary>
    public static IReadOnlyList<string> SplitOnFlag(string value, string flag)
    {
        var trimmed = value.Trim();
        if (trimmed.StartsWith(flag + " ", StringComparison.Ordinal))
        {
            trimmed = trimmed[flag.Length..].TrimStart();
        }
        return Regex.Split(trimmed, @"\s+" + Regex.Escape(flag) + @"(?:\s+|$)")
            .Select(s => s.Trim())
            .ToList();
    }

    /// <summary>Splits an option list on ','; tokens are <c>key=value</c> or bare values.</summary>
    public static List<OptionToken> Tokens(string item)
    {
        var tokens = new List<OptionToken>();
        var parts = item.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            tokens.Add(eq < 0 ? new OptionToken(null, part, i + 1) : new OptionToken(part[..eq], part[(eq + 1)..], i + 1));
        }
        return tokens;
    }

    public static bool TryParseInt64(string value, long min, long max, out long result) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max;

    public static bool TryParseInt32(string value, int min, int max, out int result) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max;

    /// <summary>Dotted-quad IPv4: four decimal parts 0-255 without leading zeros.</summary>
    public static bool IsIpv4(string value)
    {
        var parts = value.Split('.');
        return parts.Length == 4 && parts.All(p =>
            p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') &&
            int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }

    /// <summary>A unicast MAC address <c>xx:xx:xx:xx:xx:xx</c> that does not start with <c>fe</c> (the seed's rule: libvirt reserves fe: for tap devices).</summary>
    public static string? CheckMac(string value)
    {
        if (!MacPattern().IsMatch(value))
        {
            return "must be a MAC address of the form xx:xx:xx:xx:xx:xx (hexadecimal)";
        }
        if (value.StartsWith("fe", StringComparison.OrdinalIgnoreCase))
        {
            return "must not start with fe (libvirt reserves fe: for host-side tap devices)";
        }
        var first = Convert.ToByte(value[..2], 16);
        if ((first & 1) != 0)
        {
            return "must be a unicast address (the lowest bit of the first octet must be 0)";
        }
        return null;
    }

    /// <summary>A host name or IPv4 address.</summary>
    public static bool IsHost(string value) =>
        IsIpv4(value) || (value.Length <= 253 && Uri.CheckHostName(value) == UriHostNameType.Dns && HostPattern().IsMatch(value));

    /// <summary>Names of Kubernetes-side objects (pools, switches, bridges): 4-100 of [a-z0-9.-] (seed rule 1).</summary>
    public static bool IsSeedName(string value) => value.Length is >= 4 and <= 100 && SeedNamePattern().IsMatch(value);

    /// <summary>Linux network interface / bridge names: 1-15 characters, no '/', no spaces.</summary>
    public static bool IsInterfaceName(string value) => value.Length is >= 1 and <= 15 && InterfaceNamePattern().IsMatch(value);

    public static bool IsIpAddressLiteral(string value) => IPAddress.TryParse(value, out _);

    [GeneratedRegex("^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")]
    private static partial Regex MacPattern();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")]
    private static partial Regex HostPattern();

    [GeneratedRegex("^[a-z0-9.-]+$")]
    private static partial Regex SeedNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    private static partial Regex InterfaceNamePattern();
}
