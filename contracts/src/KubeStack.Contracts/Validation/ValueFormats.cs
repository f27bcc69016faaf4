using System.Buffers.Binary;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeStack.Contracts.Validation;

/// <summary>The smaller semantic formats of the catalog that are not compound seed formats.</summary>
public static class ValueFormats
{
    public static readonly IReadOnlyList<string> SshKeyTypes =
    [
        "ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ];

    /// <summary>uuid=&lt;UUID&gt; where the UUID is one libvirt accepts: 32 lowercase hex digits, optionally 8-4-4-4-12.</summary>
    internal static IReadOnlyList<string> CheckMetadataUuid(string value)
    {
        const string prefix = "uuid=";
        if (!value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return ["must have the form uuid=<UUID>"];
        }

        return IsUuid(value[prefix.Length..])
            ? []
            : ["must carry a UUID libvirt accepts: 32 lowercase hex digits, optionally grouped 8-4-4-4-12 with '-'"];
    }

    public static bool IsUuid(string value)
    {
        var hex = value.Replace("-", "", StringComparison.Ordinal);
        var dashedOk = !value.Contains('-', StringComparison.Ordinal)
                       || (value.Length == 36 && value[8] == '-' && value[13] == '-' && value[18] == '-' && value[23] == '-');
        return dashedOk && hex.Length == 32 && hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
    }

    /// <summary>usb,type=tcp,server=HOST:PORT or usb,type=spicevmc (virt-install --redirdev).</summary>
    internal static IReadOnlyList<string> CheckRedirdev(string value)
    {
        var parts = value.Split(',');
        if (parts[0] != "usb")
        {
            return ["must start with the bus 'usb' (usb,type=tcp,server=IP:PORT or usb,type=spicevmc)"];
        }

        if (parts.Length == 2 && parts[1] == "type=spicevmc")
        {
            return [];
        }

        if (parts.Length != 3 || parts[1] != "type=tcp" || !parts[2].StartsWith("server=", StringComparison.Ordinal))
        {
            return ["must be usb,type=tcp,server=IP:PORT or usb,type=spicevmc"];
        }

        var server = parts[2]["server=".Length..];
        var colon = server.LastIndexOf(':');
        if (colon < 0 || !NetworkFormats.IsHost(server[..colon]) || !IsPort(server[(colon + 1)..]))
        {
            return ["must name the server as HOST:PORT with an IPv4 address or host name and a port from 1 to 65535"];
        }

        return [];
    }

    internal static bool IsPort(string value) =>
        value.Length is > 0 and <= 5 && value.All(char.IsAsciiDigit)
        && int.Parse(value, CultureInfo.InvariantCulture) is >= 1 and <= 65535;

    internal static bool IsDiskTarget(string value) =>
        value.Length is 3 or 4 && value[..2] is "vd" or "hd" or "sd" && value[2..].All(char.IsAsciiLetterLower);

    /// <summary>deleteVM storage: comma-separated disk targets (vda) or volume paths, as virsh undefine --storage takes them.</summary>
    internal static IReadOnlyList<string> CheckStorageList(string value)
    {
        var problems = new List<string>();
        foreach (var item in value.Split(','))
        {
            if (item.Length == 0)
            {
                problems.Add("must list disk targets or paths separated by ',' without empty items");
            }
            else if (item[0] == '/')
            {
                problems.AddRange(PathRule.Check(item).Select(p => $"has the path '{item}' which {p}"));
            }
            else if (!IsDiskTarget(item))
            {
                problems.Add($"has '{item}', which is neither a disk target (vda, hdb, sdc) nor an absolute path");
            }
        }

        return problems;
    }

    /// <summary>The parsed plugNIC source: source=BRIDGE[,ip=IPV4][,switch=NAME], in that order.</summary>
    public sealed record NicSource(string Source, string? Ip, string? Switch);

    public static NicSource? ParseNicSource(string value, List<string>? problems = null)
    {
        string? source = null, ip = null, sw = null;
        var order = new[] { "source", "ip", "switch" };
        var last = -1;
        foreach (var part in value.Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var index = Array.IndexOf(order, key);
            if (eq < 0 || index < 0)
            {
                problems?.Add($"must be source=BRIDGE[,ip=IP][,switch=SWITCH], but '{part}' is not one of these keys");
                return null;
            }

            if (index <= last)
            {
                problems?.Add("must give its keys once each and in the order source, ip, switch");
                return null;
            }

            last = index;
            var v = part[(eq + 1)..];
            switch (key)
            {
                case "source": source = v; break;
                case "ip": ip = v; break;
                default: sw = v; break;
            }
        }

        if (source is null)
        {
            problems?.Add("must start with source=BRIDGE");
            return null;
        }

        var ok = true;
        if (!IsInterfaceName(source))
        {
            problems?.Add($"names the bridge '{source}', which is not a valid interface name (1-15 letters, digits, '_', '.', '-')");
            ok = false;
        }

        if (ip is not null && !NetworkFormats.IsIpv4(ip))
        {
            problems?.Add($"has ip={ip}, which is not an IPv4 address");
            ok = false;
        }

        if (sw is not null && !NameRules.IsValidName(sw))
        {
            problems?.Add($"has switch={sw}, which is not a valid switch name (4-100 lowercase letters, digits, '-', '.')");
            ok = false;
        }

        return ok ? new NicSource(source, ip, sw) : null;
    }

    internal static IReadOnlyList<string> CheckNicSource(string value)
    {
        var problems = new List<string>();
        ParseNicSource(value, problems);
        return problems;
    }

    public static bool IsInterfaceName(string value) =>
        value.Length is >= 1 and <= 15 && value is not ("." or "..")
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>cloneVM file: one or more paths, later ones introduced by " --file ".</summary>
    public static IReadOnlyList<string> SplitFileList(string value) =>
        value.Split(" --file ", StringSplitOptions.None);

    internal static IReadOnlyList<string> CheckFileList(string value)
    {
        var problems = new List<string>();
        foreach (var path in SplitFileList(value))
        {
            if (path.Length is < 18 or > 1024)
            {
                problems.Add($"has the path '{path}' which must be 18 to 1024 characters long");
                continue;
            }

            problems.AddRange(PathRule.Check(path).Select(p => $"has the path '{path}' which {p}"));
        }

        return problems;
    }

    internal static IReadOnlyList<string> CheckDiskTargetList(string value)
    {
        var items = value.Split(',');
        var bad = items.FirstOrDefault(i => !IsDiskTarget(i));
        if (bad is not null)
        {
            return [$"must list disk targets (vda, hdb, sdc) separated by ',', but '{bad}' is not one"];
        }

        var duplicate = items.GroupBy(i => i, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? [] : [$"must not list the disk '{duplicate.Key}' twice"];
    }

    /// <summary>An OpenSSH public key line: type, base64 key blob whose embedded type matches, optional comment.</summary>
    internal static IReadOnlyList<string> CheckSshPublicKey(string value)
    {
        var parts = value.Split(' ', 3);
        if (parts.Length < 2 || !SshKeyTypes.Contains(parts[0]))
        {
            return [$"must be an OpenSSH public key line '<type> <base64 key> [comment]' with a type among {string.Join(", ", SshKeyTypes)}"];
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            return ["must carry the key as base64 after the key type"];
        }

        if (blob.Length < 4)
        {
            return ["must carry a complete key blob"];
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (length > blob.Length - 4 || System.Text.Encoding.ASCII.GetString(blob, 4, (int)length) != parts[0])
        {
            return [$"must carry a key blob of type {parts[0]} (the base64 part does not match the key type)"];
        }

        return [];
    }

    /// <summary>cloud-init user data: must parse as YAML (a '#cloud-config' document or a script, which is a YAML scalar).</summary>
    internal static IReadOnlyList<string> CheckCloudInitUserData(string value)
    {
        try
        {
            var stream = new YamlStream();
            using var reader = new StringReader(value);
            stream.Load(reader);
            return [];
        }
        catch (YamlException e)
        {
            return [$"must be valid YAML, but line {e.Start.Line} column {e.Start.Column} does not parse"];
        }
    }
}
