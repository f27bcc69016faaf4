using System.Text.RegularExpressions;

namespace KubeStack.Contracts.Formats;

public enum GraphicsType
{
    Vnc,
    Spice,
}

/// <summary>The <c>graphics</c> parameter. <see cref="ToString"/> never shows the password.</summary>
public sealed record GraphicsSpec(GraphicsType Type, string Listen, string? Password)
{
    public string TypeName => Type == GraphicsType.Vnc ? "vnc" : "spice";

    public override string ToString() =>
        $"GraphicsSpec {{ Type = {TypeName}, Listen = {Listen}, Password = {(Password is null ? "none" : "***")} }}";
}

/// <summary>
/// Format <c>graphics</c>: <c>vnc|spice,listen=IPv4[,password=PW]</c>; the password is 4-16 characters of lowercase
/// letters, digits and '-'. Messages never contain the password nor any token that could be it.
/// </summary>
public static partial class GraphicsFormat
{
    public const string Name = "graphics";

    public static FormatResult<GraphicsSpec> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var tokens = FormatSyntax.Tokens(value.Trim());
        var first = tokens[0];
        GraphicsType? type = null;
        if (first.Key is not null || (first.Value != "vnc" && first.Value != "spice"))
        {
            errors.Add("Graphics must start with vnc or spice, e.g. vnc,listen=0.0.0.0,password=abcd.");
        }
        else
        {
            type = first.Value == "vnc" ? GraphicsType.Vnc : GraphicsType.Spice;
        }

        string? listen = null, password = null;
        foreach (var token in tokens.Skip(1))
        {
            switch (token.Key)
            {
                case null:
                    // Never echo: a bare token may be a misplaced password.
                    errors.Add($"Graphics item {token.Position} is not of the form key=value (allowed keys: listen, password).");
                    break;
                case "listen" when listen is null:
                    listen = token.Value;
                    if (!FormatSyntax.IsIpv4(listen))
                    {
                        errors.Add($"Graphics listen '{SeedPaths.Shorten(listen)}' is not an IPv4 address (e.g. 0.0.0.0 or 127.0.0.1).");
                    }
                    break;
                case "password" when password is null:
                    password = token.Value;
                    if (!PasswordPattern().IsMatch(password))
                    {
                        errors.Add("The graphics password must be 4-16 characters of lowercase letters, digits and '-' (the value is not shown).");
                    }
                    break;
                case "listen" or "password":
                    errors.Add($"Graphics key '{token.Key}' is given more than once.");
                    break;
                default:
                    // Never echo the key either: "vnc,listen=..,<password>=" would leak it.
                    errors.Add($"Graphics item {token.Position} has an unknown key; allowed keys: listen, password.");
                    break;
            }
        }
        if (type is not null && listen is null)
        {
            errors.Add("Graphics needs listen=ADDRESS after the type (e.g. vnc,listen=0.0.0.0).");
        }
        return errors.Count > 0 || type is null || listen is null
            ? FormatResult<GraphicsSpec>.Fail(errors)
            : FormatResult<GraphicsSpec>.Ok(new GraphicsSpec(type.Value, listen, password));
    }

    [GeneratedRegex("^[a-z0-9-]{4,16}$")]
    private static partial Regex PasswordPattern();
}
