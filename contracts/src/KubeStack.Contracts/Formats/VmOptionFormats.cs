using System.Text.RegularExpressions;

namespace KubeStack.Contracts.Formats;

/// <summary>The <c>metadata</c> parameter: <c>uuid=VALUE</c>.</summary>
/// <param name="Uuid">The value as given (12-36 of [a-z0-9.-]).</param>
/// <param name="ParsedUuid">The value as a UUID when it is one (then it becomes the domain's &lt;uuid&gt;), else null.</param>
public sealed record VmMetadataSpec(string Uuid, Guid? ParsedUuid);

/// <summary>Format <c>metadataUuid</c>: <c>uuid=VALUE</c>, VALUE 12-36 characters of lowercase letters, digits, '-' and '.'.</summary>
public static partial class MetadataUuidFormat
{
    public const string Name = "metadataUuid";

    public static FormatResult<VmMetadataSpec> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.StartsWith("uuid=", StringComparison.Ordinal))
        {
            return FormatResult<VmMetadataSpec>.Fail([$"metadata must have the form uuid=VALUE (got '{SeedPaths.Shorten(value)}')."]);
        }
        var uuid = value["uuid=".Length..];
        if (!UuidValue().IsMatch(uuid))
        {
            return FormatResult<VmMetadataSpec>.Fail(
                [$"metadata uuid '{SeedPaths.Shorten(uuid)}' must be 12-36 characters of lowercase letters, digits, '-' and '.'."]);
        }
        Guid? parsed = uuid.Length == 36 && Guid.TryParseExact(uuid, "D", out var g) ? g : null;
        return FormatResult<VmMetadataSpec>.Ok(new VmMetadataSpec(uuid, parsed));
    }

    [GeneratedRegex("^[a-z0-9.-]{12,36}$")]
    private static partial Regex UuidValue();
}

/// <summary>The <c>redirdev</c> parameter: a USB redirection device.</summary>
/// <param name="Type">tcp (to a usbredir server) or spicevmc (through the SPICE channel).</param>
public sealed record RedirDevSpec(string Bus, string Type, string? Host, int? Port);

/// <summary>
/// Format <c>redirdev</c> (virt-install <c>--redirdev</c>): <c>usb,type=tcp,server=HOST:PORT</c> or
/// <c>usb,type=spicevmc</c>.
/// </summary>
public static class RedirDevFormat
{
    public const string Name = "redirdev";

    public static FormatResult<RedirDevSpec> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var tokens = FormatSyntax.Tokens(value.Trim());
        if (tokens[0].Key is not null || tokens[0].Value != "usb")
        {
            errors.Add($"redirdev must start with the bus 'usb' (got '{SeedPaths.Shorten(tokens[0].Value)}'), e.g. usb,type=tcp,server=192.168.1.1:4000.");
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in tokens.Skip(1))
        {
            if (token.Key is not ("type" or "server"))
            {
                errors.Add($"redirdev item {token.Position} ('{SeedPaths.Shorten(token.Value)}') is not type=... or server=....");
            }
            else if (!options.TryAdd(token.Key, token.Value))
            {
                errors.Add($"redirdev key '{token.Key}' is given more than once.");
            }
        }
        if (errors.Count > 0)
        {
            return FormatResult<RedirDevSpec>.Fail(errors);
        }

        var type = options.GetValueOrDefault("type");
        string? host = null;
        int? port = null;
        switch (type)
        {
            case "tcp":
                if (!options.TryGetValue("server", out var server))
                {
                    errors.Add("redirdev type=tcp needs server=HOST:PORT.");
                    break;
                }
                var colon = server.LastIndexOf(':');
                if (colon <= 0 || !FormatSyntax.IsHost(server[..colon]) ||
                    !FormatSyntax.TryParseInt32(server[(colon + 1)..], 1, 65535, out var p))
                {
                    errors.Add($"redirdev server '{SeedPaths.Shorten(server)}' must be HOST:PORT with an IPv4 address or host name and a port from 1 to 65535.");
                    break;
                }
                host = server[..colon];
                port = p;
                break;
            case "spicevmc":
                if (options.ContainsKey("server"))
                {
                    errors.Add("redirdev type=spicevmc takes no server (it uses the SPICE channel).");
                }
                break;
            case null:
                errors.Add("redirdev needs type=tcp (with server=HOST:PORT) or type=spicevmc.");
                break;
            default:
                errors.Add($"redirdev type must be tcp or spicevmc (got '{SeedPaths.Shorten(type)}').");
                break;
        }
        return errors.Count > 0
            ? FormatResult<RedirDevSpec>.Fail(errors)
            : FormatResult<RedirDevSpec>.Ok(new RedirDevSpec("usb", type!, host, port));
    }
}
