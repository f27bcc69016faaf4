namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>Where an FTP server listens: a host name or IP address and a TCP port.</summary>
public sealed record FtpEndpoint
{
    public const int DefaultPort = 21;

    public FtpEndpoint(string host, int port = DefaultPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host;
        Port = port;
    }

    public string Host { get; }
    public int Port { get; }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// A user name and password for one FTP login. The password comes from the request and lives only in memory for the
/// length of the operation: <see cref="ToString"/>, messages and logs never show it.
/// </summary>
public sealed class FtpCredentials
{
    public FtpCredentials(string userName, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(password);
        if (userName.Any(char.IsControl) || password.Any(c => c is '\r' or '\n' or '\0'))
        {
            throw new ArgumentException("FTP user names and passwords may not contain line breaks or control characters.");
        }

        UserName = userName;
        Password = password;
    }

    public string UserName { get; }

    /// <summary>Sent with PASS; never formatted into text.</summary>
    internal string Password { get; }

    public override string ToString() => $"{UserName} (password not shown)";
}

/// <summary>Timeouts of one FTP connection.</summary>
public sealed record FtpClientOptions
{
    public static readonly FtpClientOptions Default = new();

    /// <summary>Connecting the control or a data connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Waiting for a reply on the control connection.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A data connection that moves no byte for this long is given up.</summary>
    public TimeSpan DataIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
