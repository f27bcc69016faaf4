using System.Globalization;
using System.Text.RegularExpressions;

namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>One reply of the server on the control connection (RFC 959 §4.2): a three-digit code and its text lines.</summary>
public sealed record FtpReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>1yz: the command started (a transfer follows).</summary>
    public bool IsPreliminary => Code is >= 100 and < 200;

    /// <summary>2yz: done.</summary>
    public bool IsSuccess => Code is >= 200 and < 300;

    /// <summary>3yz: the server waits for the next command of a sequence (PASS after USER, RNTO after RNFR, STOR after REST).</summary>
    public bool IsIntermediate => Code is >= 300 and < 400;

    /// <summary>4yz: not done this time.</summary>
    public bool IsTransientFailure => Code is >= 400 and < 500;

    /// <summary>The text of the last line without the code (what the server says).</summary>
    public string Text => Lines.Count == 0 ? string.Empty : FtpProtocol.TextOf(Lines[^1]);

    public override string ToString() => $"{Code} {Text}";
}

/// <summary>Entry types of a directory listing.</summary>
public enum FtpEntryType
{
    File,
    Directory,
    Link,
    Other,
}

/// <summary>One entry of a remote directory (name only, no path).</summary>
public sealed record FtpEntry(string Name, FtpEntryType Type, long? Size);

/// <summary>Pure parsing of the protocol's text: replies, FEAT, EPSV/PASV, SIZE, MLSD and Unix LIST lines.</summary>
public static partial class FtpProtocol
{
    /// <summary>The code of a reply line, and whether it continues ("123-") or ends ("123 " or "123") a reply.</summary>
    public static bool TryParseReplyLine(string line, out int code, out bool last)
    {
        ArgumentNullException.ThrowIfNull(line);
        code = 0;
        last = false;
        if (line.Length < 3 || !char.IsAsciiDigit(line[0]) || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2]))
        {
            return false;
        }

        if (line.Length > 3 && line[3] is not (' ' or '-'))
        {
            return false;
        }

        code = int.Parse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture);
        last = line.Length == 3 || line[3] == ' ';
        return true;
    }

    internal static string TextOf(string line) =>
        line.Length > 4 && TryParseReplyLine(line, out _, out _) ? line[4..].Trim() : line.Trim();

    /// <summary>The features a FEAT reply lists (upper-cased first word → the whole feature line).</summary>
    public static IReadOnlyDictionary<string, string> ParseFeatures(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var features = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!reply.IsSuccess)
        {
            return features;
        }

        // the first and last lines carry the code; the features are the lines between them, indented by one space
        for (var i = 1; i < reply.Lines.Count - 1; i++)
        {
            var feature = reply.Lines[i].Trim();
            if (feature.Length == 0)
            {
                continue;
            }

            var space = feature.IndexOf(' ', StringComparison.Ordinal);
            features[space < 0 ? feature : feature[..space]] = feature;
        }

        return features;
    }

    /// <summary>The port of an EPSV reply: <c>229 Entering Extended Passive Mode (|||6446|)</c> (RFC 2428).</summary>
    public static int ParseEpsvPort(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var m = EpsvPattern().Match(reply.Text);
        if (reply.Code != 229 || !m.Success || !int.TryParse(m.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            throw new FtpException(FtpFailure.Protocol, $"The server's EPSV reply '{reply}' names no port.", reply.Code);
        }

        return port;
    }

    /// <summary>The port of a PASV reply: <c>227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)</c>. The address is not used:
    /// data connections go to the control connection's address (servers behind NAT announce unusable ones).</summary>
    public static int ParsePasvPort(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var m = PasvPattern().Match(reply.Text);
        if (reply.Code != 227 || !m.Success)
        {
            throw new FtpException(FtpFailure.Protocol, $"The server's PASV reply '{reply}' names no address and port.", reply.Code);
        }

        var high = int.Parse(m.Groups["p1"].Value, CultureInfo.InvariantCulture);
        var low = int.Parse(m.Groups["p2"].Value, CultureInfo.InvariantCulture);
        var port = (high * 256) + low;
        return high <= 255 && low <= 255 && port > 0
            ? port
            : throw new FtpException(FtpFailure.Protocol, $"The server's PASV reply '{reply}' names an invalid port.", reply.Code);
    }

    /// <summary>The size in a SIZE reply (<c>213 12345</c>, RFC 3659 §4).</summary>
    public static long ParseSize(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return reply.Code == 213 && long.TryParse(reply.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            ? size
            : throw new FtpException(FtpFailure.Protocol, $"The server's SIZE reply '{reply}' is not a number of bytes.", reply.Code);
    }

    /// <summary>One MLSD line (RFC 3659 §7): <c>type=file;size=5;modify=...; name</c>; null for <c>cdir</c>/<c>pdir</c> and unreadable lines.</summary>
    public static FtpEntry? ParseMlsdLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space == line.Length - 1)
        {
            return null;
        }

        var name = line[(space + 1)..];
        string? type = null;
        long? size = null;
        foreach (var fact in line[..space].Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = fact.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var key = fact[..eq];
            var value = fact[(eq + 1)..];
            if (key.Equals("type", StringComparison.OrdinalIgnoreCase))
            {
                type = value.ToLowerInvariant();
            }
            else if (key.Equals("size", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s))
            {
                size = s;
            }
        }

        return type switch
        {
            "cdir" or "pdir" or null => null,
            "file" => new FtpEntry(name, FtpEntryType.File, size),
            "dir" => new FtpEntry(name, FtpEntryType.Directory, null),
            var t when t.StartsWith("os.unix=symlink", StringComparison.Ordinal) || t.StartsWith("os.unix=slink", StringComparison.Ordinal) =>
                new FtpEntry(name, FtpEntryType.Link, null),
            _ => new FtpEntry(name, FtpEntryType.Other, size),
        };
    }

    /// <summary>
    /// One line of a Unix-style LIST (<c>-rw-r--r--    1 999  995   5000 Nov 27 11:32 name</c>, what vsftpd, ProFTPD and
    /// pure-ftpd print); null for <c>total</c> lines, <c>.</c>/<c>..</c> and lines in other formats.
    /// </summary>
    public static FtpEntry? ParseUnixListLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var m = UnixListPattern().Match(line);
        if (!m.Success)
        {
            return null;
        }

        var name = m.Groups["name"].Value;
        var type = m.Groups["type"].Value[0] switch
        {
            '-' => FtpEntryType.File,
            'd' => FtpEntryType.Directory,
            'l' => FtpEntryType.Link,
            _ => FtpEntryType.Other,
        };
        if (type == FtpEntryType.Link && name.IndexOf(" -> ", StringComparison.Ordinal) is var arrow and > 0)
        {
            name = name[..arrow];
        }

        if (name is "." or "..")
        {
            return null;
        }

        long? size = long.TryParse(m.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
        return new FtpEntry(name, type, type == FtpEntryType.File ? size : null);
    }

    /// <summary>The hex digest in a HASH reply (<c>213 SHA-256 0-5 abc... name</c>, draft-bryan-ftpext-hash) or an XSHA256 reply.</summary>
    public static string? ParseHash(FtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (!reply.IsSuccess)
        {
            return null;
        }

        var m = HexDigestPattern().Match(reply.Text);
        return m.Success ? m.Value.ToLowerInvariant() : null;
    }

    /// <summary>Refuses text that would end the command line early (CR, LF, NUL): a path cannot smuggle in a second command.</summary>
    public static string CheckArgument(string argument, string what)
    {
        ArgumentNullException.ThrowIfNull(argument);
        return argument.Any(c => c is '\r' or '\n' or '\0')
            ? throw new ArgumentException($"The FTP {what} '{argument.ReplaceLineEndings(" ")}' contains a line break or NUL; it is refused.")
            : argument;
    }

    [GeneratedRegex(@"\((?<d>[\x21-\x7e])\k<d>\k<d>(?<port>\d{1,5})\k<d>\)")]
    private static partial Regex EpsvPattern();

    [GeneratedRegex(@"(?<h1>\d{1,3}),(?<h2>\d{1,3}),(?<h3>\d{1,3}),(?<h4>\d{1,3}),(?<p1>\d{1,3}),(?<p2>\d{1,3})")]
    private static partial Regex PasvPattern();

    [GeneratedRegex(@"^(?<type>[-dlbcps])[-rwxsStTl+.@]{9,11}\s+\d+\s+\S+\s+\S+\s+(?<size>\d+)\s+(\w{3}\s+\d{1,2}\s+(\d{1,2}:\d{2}|\d{4})|\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2})\s(?<name>.+)$")]
    private static partial Regex UnixListPattern();

    [GeneratedRegex(@"\b[0-9A-Fa-f]{64}\b")]
    private static partial Regex HexDigestPattern();
}
