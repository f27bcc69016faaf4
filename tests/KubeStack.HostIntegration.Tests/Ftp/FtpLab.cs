using System.Net.Sockets;
using System.Security.Cryptography;
using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.HostIntegration.Tests.Ftp;

/// <summary>
/// The lab's FTP server (lab/lab-up.sh component <c>ftp</c>, docs/host-lab.md): vsftpd on 127.0.0.1:2121, user
/// <c>kstftp</c> with the lab password, chrooted into <see cref="Root"/> (so tests can also look at the server's files
/// directly), passive ports 30100-30199.
/// </summary>
public static class FtpLab
{
    public const string Host = "127.0.0.1";
    public const int Port = 2121;
    public const string User = "kstftp";
    public const string Password = "kstftp-lab-password";

    /// <summary>The FTP user's root on this machine ("/" on the server).</summary>
    public const string Root = "/var/lib/kubestack-lab/ftp/root";

    public static FtpEndpoint Endpoint => new(Host, Port);
    public static FtpCredentials Credentials => new(User, Password);

    /// <summary>Short timeouts so failure tests end quickly.</summary>
    public static readonly FtpClientOptions FastOptions = new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ReplyTimeout = TimeSpan.FromSeconds(15),
        DataIdleTimeout = TimeSpan.FromSeconds(15),
    };

    public static readonly FtpRetryPolicy FastRetry = new() { MaxAttempts = 6, FirstDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) };

    private static readonly Lazy<string?> Missing = new(() =>
    {
        try
        {
            using var tcp = new TcpClient();
            if (!tcp.ConnectAsync(Host, Port).Wait(TimeSpan.FromSeconds(3)))
            {
                return $"the lab FTP server does not answer on {Host}:{Port} (run lab/lab-up.sh ftp)";
            }
        }
        catch (AggregateException ex) when (ex.InnerException is SocketException s)
        {
            return $"the lab FTP server is not running on {Host}:{Port}: {s.Message} (run lab/lab-up.sh ftp)";
        }

        return Directory.Exists(Root) ? null : $"the lab FTP root {Root} is missing (run lab/lab-up.sh ftp)";
    });

    public static string? WhyNoFtp => Missing.Value;

    public static Task<FtpClient> ConnectAsync(FtpEndpoint? endpoint = null) =>
        FtpClient.ConnectAsync(endpoint ?? Endpoint, Credentials, FastOptions);

    /// <summary>A fresh directory name under the FTP root for one test, and its path on this machine.</summary>
    public static (string Remote, string Local) NewDirectory()
    {
        var name = $"kst-ftp-{Guid.NewGuid().ToString("N")[..8]}";
        return ($"/{name}", Path.Combine(Root, name));
    }

    /// <summary>Removes a test directory from the server's disk (tests run as root).</summary>
    public static void Remove(string local)
    {
        if (Directory.Exists(local))
        {
            Directory.Delete(local, recursive: true);
        }
    }

    /// <summary>Lets the FTP user change what a test made directly on the server's disk as root (dirs 0777, files 0666).</summary>
    public static void OpenUp(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(entry, Directory.Exists(entry) ? (UnixFileMode)0b111_111_111 : (UnixFileMode)0b110_110_110);
        }
    }

    /// <summary>A local file of <paramref name="length"/> pseudo-random bytes (seeded: different files differ).</summary>
    public static string RandomFile(string directory, string name, int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>Runs when the lab FTP server answers.</summary>
public sealed class FtpLabFactAttribute : FactAttribute
{
    public FtpLabFactAttribute()
    {
        if (FtpLab.WhyNoFtp is { } reason)
        {
            Skip = reason;
        }
    }
}
