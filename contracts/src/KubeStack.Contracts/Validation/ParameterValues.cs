using System.Globalization;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// Normalised readings of validated parameter values, for the agent: what the catalog accepts in more than one
/// spelling is turned into the one spelling host tools take.
/// </summary>
public static class ParameterValues
{
    /// <summary>
    /// Reads a decimal integer carried as a string, accepting thousands separators in groups of three
    /// ("10,737,418,240" = 10737418240; decision integer-separators). False for anything else or on overflow.
    /// </summary>
    public static bool TryParseInteger(string value, out long number)
    {
        number = 0;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var groups = value.Split(',');
        if (groups.Length > 1 && (groups[0].Length is 0 or > 3 || groups.Skip(1).Any(g => g.Length != 3)))
        {
            return false;
        }

        var digits = string.Concat(groups);
        return digits.All(char.IsAsciiDigit)
               && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>The integer without separators, as host tools expect it ("10,737,418,240" → "10737418240").</summary>
    public static string NormalizeInteger(string value) =>
        TryParseInteger(value, out var n)
            ? n.ToString(CultureInfo.InvariantCulture)
            : throw new FormatException($"'{value}' is not a decimal integer.");

    /// <summary>The addresses of an address list, split on ',' or the full-width '，' (decision fullwidth-comma).</summary>
    public static IReadOnlyList<string> AddressList(string value) => NetworkFormats.SplitList(value);

    /// <summary>The boolean of a string flag ("true"/"false", and createPool's "True"/"False").</summary>
    public static bool ParseFlag(string value) =>
        value.ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw new FormatException($"'{value}' is not true or false."),
        };
}
