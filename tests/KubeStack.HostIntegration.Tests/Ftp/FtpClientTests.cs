using System.Net;
using System.Net.Sockets;
using System.Text;
using KubeStack.NodeAgent.HostTools.Ftp;
using Microsoft.Extensions.Logging;

namespace KubeStack.HostIntegration.Tests.Ftp;

/// <summary>The typed FTP client against the lab's real vsftpd (loopback); results checked on the server's disk.</summary>
public sealed class FtpClientTests : IDisposable
{
    private readonly string _remote;
    private readonly string _serverDir;
    private readonly string _local = Directory.CreateTempSubdirectory("kst-ftp-client-").FullName;

    public FtpClientTests()
    {
        (_remote, _serverDir) = FtpLab.NewDirectory();
    }

    public void Dispose()
    {
        FtpLab.Remove(_serverDir);
        Directory.Delete(_local, recursive: true);
    }

    [FtpLabFact]
    public async Task Login_reads_the_features_vsftpd_announces()
    {
        await using var client = await FtpLab.ConnectAsync();
        Assert.True(client.Features.ContainsKey("SIZE"));
        Assert.True(client.Features.ContainsKey("EPSV"));
        Assert.Equal("REST STREAM", client.Features["REST"]);
        Assert.False(client.IsBroken);
    }

    [FtpLabFact]
    public async Task Upload_then_size_and_download_give_back_the_same_bytes()
    {
        var file = FtpLab.RandomFile(_local, "data.bin", 3 * 1024 * 1024 + 17, seed: 1);
        await using var client = await FtpLab.ConnectAsync();
        await client.CreateDirectoriesAsync(_remote);
        var path = FtpPath.Combine(_remote, "data.bin");
        await using (var source = File.OpenRead(file))
        {
            Assert.Equal(source.Length, await client.UploadAsync(source, path));
        }

        Assert.Equal(new FileInfo(file).Length, await client.SizeAsync(path));
        Assert.Equal(FtpLab.Sha256(file), FtpLab.Sha256(Path.Combine(_serverDir, "data.bin")));

        var back = Path.Combine(_local, "back.bin");
        await using (var target = File.Create(back))
        {
            await client.DownloadAsync(path, target);
        }

        Assert.Equal(FtpLab.Sha256(file), FtpLab.Sha256(back));
    }

    [FtpLabFact]
    public async Task Size_of_a_missing_file_is_null()
    {
        await using var client = await FtpLab.ConnectAsync();
        Assert.Null(await client.SizeAsync(FtpPath.Combine(_remote, "nothing-here")));
        Assert.False(client.IsBroken);
    }

    [FtpLabFact]
    public async Task CreateDirectories_makes_every_parent_and_accepts_existing_ones()
    {
        await using var client = await FtpLab.ConnectAsync();
        var deep = FtpPath.Combine(FtpPath.Combine(FtpPath.Combine(_remote, "a"), "b"), "c");
        await client.CreateDirectoriesAsync(deep);
        await client.CreateDirectoriesAsync(deep);
        Assert.True(Directory.Exists(Path.Combine(_serverDir, "a", "b", "c")));
        Assert.True(await client.DirectoryExistsAsync(deep));
        Assert.False(await client.DirectoryExistsAsync(FtpPath.Combine(_remote, "zzz")));
    }

    [FtpLabFact]
    public async Task List_shows_files_with_their_sizes_directories_and_dot_files()
    {
        Directory.CreateDirectory(Path.Combine(_serverDir, "sub dir"));
        await File.WriteAllBytesAsync(Path.Combine(_serverDir, "five.bin"), new byte[5]);
        await File.WriteAllBytesAsync(Path.Combine(_serverDir, ".hidden"), new byte[2]);
        FtpLab.OpenUp(_serverDir);
        await using var client = await FtpLab.ConnectAsync();
        var entries = (await client.ListAsync(_remote)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [new FtpEntry(".hidden", FtpEntryType.File, 2), new FtpEntry("five.bin", FtpEntryType.File, 5), new FtpEntry("sub dir", FtpEntryType.Directory, null)],
            entries);
        Assert.Empty(await client.ListAsync(FtpPath.Combine(_remote, "missing")));
    }

    [FtpLabFact]
    public async Task DeleteTree_removes_everything_below_and_leaves_the_sibling()
    {
        var victim = Path.Combine(_serverDir, "victim");
        Directory.CreateDirectory(Path.Combine(victim, "x", "y"));
        await File.WriteAllTextAsync(Path.Combine(victim, "x", "y", "f"), "f");
        await File.WriteAllTextAsync(Path.Combine(victim, "g"), "g");
        await File.WriteAllTextAsync(Path.Combine(_serverDir, "keep"), "keep");
        FtpLab.OpenUp(_serverDir);
        await using var client = await FtpLab.ConnectAsync();
        Assert.Equal(2, await client.DeleteTreeAsync(FtpPath.Combine(_remote, "victim")));
        Assert.False(Directory.Exists(victim));
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(_serverDir, "keep")));
        Assert.Equal(0, await client.DeleteTreeAsync(FtpPath.Combine(_remote, "victim")));
        Assert.False(await client.DeleteFileAsync(FtpPath.Combine(_remote, "victim-file")));
    }

    [FtpLabFact]
    public async Task Upload_from_an_offset_continues_a_partial_remote_file()
    {
        var file = FtpLab.RandomFile(_local, "data.bin", 1_000_000, seed: 2);
        var bytes = await File.ReadAllBytesAsync(file);
        Directory.CreateDirectory(_serverDir);
        var onServer = Path.Combine(_serverDir, "data.bin");
        await File.WriteAllBytesAsync(onServer, bytes.AsSpan(0, 400_000).ToArray());
        FtpLab.OpenUp(_serverDir);

        await using var client = await FtpLab.ConnectAsync();
        await using (var source = File.OpenRead(file))
        {
            source.Seek(400_000, SeekOrigin.Begin);
            Assert.Equal(600_000, await client.UploadAsync(source, FtpPath.Combine(_remote, "data.bin"), offset: 400_000));
        }

        Assert.Equal(FtpLab.Sha256(file), FtpLab.Sha256(onServer));
    }

    [FtpLabFact]
    public async Task Download_from_an_offset_returns_the_rest_of_the_file()
    {
        Directory.CreateDirectory(_serverDir);
        var onServer = FtpLab.RandomFile(_serverDir, "data.bin", 500_000, seed: 3);
        await using var client = await FtpLab.ConnectAsync();
        using var rest = new MemoryStream();
        Assert.Equal(200_000, await client.DownloadAsync(FtpPath.Combine(_remote, "data.bin"), rest, offset: 300_000));
        Assert.Equal((await File.ReadAllBytesAsync(onServer)).AsSpan(300_000).ToArray(), rest.ToArray());
    }

    [FtpLabFact]
    public async Task Rename_replaces_the_target_file_whole()
    {
        await using var client = await FtpLab.ConnectAsync();
        await client.CreateDirectoriesAsync(_remote);
        foreach (var (name, text) in new[] { ("manifest.json", "old"), ("manifest.json.uploading", "new content") })
        {
            await client.UploadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), FtpPath.Combine(_remote, name));
        }

        await client.RenameAsync(FtpPath.Combine(_remote, "manifest.json.uploading"), FtpPath.Combine(_remote, "manifest.json"));
        Assert.Equal("new content", await File.ReadAllTextAsync(Path.Combine(_serverDir, "manifest.json")));
        Assert.False(File.Exists(Path.Combine(_serverDir, "manifest.json.uploading")));
    }

    [FtpLabFact]
    public async Task Hash_command_is_absent_on_vsftpd_so_the_client_reports_none()
    {
        await using var client = await FtpLab.ConnectAsync();
        await client.CreateDirectoriesAsync(_remote);
        await client.UploadAsync(new MemoryStream([1, 2, 3]), FtpPath.Combine(_remote, "f"));
        Assert.Null(await client.TryHashSha256Async(FtpPath.Combine(_remote, "f")));
        Assert.False(client.IsBroken);
    }

    [FtpLabFact]
    public async Task Wrong_password_is_LoginRefused_and_neither_the_message_nor_the_log_shows_it()
    {
        const string secret = "Wr0ng-Pa55word-kst";
        var logger = new ListLogger();
        var ex = await Assert.ThrowsAsync<FtpException>(() =>
            FtpClient.ConnectAsync(FtpLab.Endpoint, new FtpCredentials(FtpLab.User, secret), FtpLab.FastOptions, logger));
        Assert.Equal(FtpFailure.LoginRefused, ex.Failure);
        Assert.Equal(530, ex.ReplyCode);
        Assert.False(ex.IsTransient);
        Assert.Contains("refused the login of user kstftp", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);
        Assert.Contains(logger.Lines, l => l.Contains("PASS ****", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    [FtpLabFact]
    public async Task Closed_port_is_Unreachable()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var ex = await Assert.ThrowsAsync<FtpException>(() => FtpLab.ConnectAsync(new FtpEndpoint("127.0.0.1", port)));
        Assert.Equal(FtpFailure.Unreachable, ex.Failure);
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
    }

    [FtpLabFact]
    public async Task A_path_with_a_line_break_is_refused_before_anything_is_sent()
    {
        await using var client = await FtpLab.ConnectAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => client.SizeAsync("/x\r\nDELE /y"));
        await Assert.ThrowsAsync<ArgumentException>(() => client.CreateDirectoriesAsync("/a/../b"));
        Assert.False(client.IsBroken);
    }

    /// <summary>Collects formatted log lines at every level.</summary>
    internal sealed class ListLogger : ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
            }
        }
    }
}
