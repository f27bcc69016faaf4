using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.HostIntegration.Tests.Ftp;

/// <summary>
/// Interrupted transfers against the real vsftpd: an in-test relay (<see cref="FtpDropProxy"/>) cuts data connections
/// with RST after some bytes; <see cref="FtpSession"/> reconnects and resumes (REST + STOR from the server's SIZE,
/// REST + RETR from the local length) and the result's SHA-256 matches.
/// </summary>
public sealed class FtpResumeTests : IAsyncLifetime
{
    private const int FileLength = 6 * 1024 * 1024 + 123;
    private readonly string _local = Directory.CreateTempSubdirectory("kst-ftp-resume-").FullName;
    private readonly string _remote;
    private readonly string _serverDir;
    private FtpDropProxy _proxy = null!;

    public FtpResumeTests()
    {
        (_remote, _serverDir) = FtpLab.NewDirectory();
    }

    public Task InitializeAsync()
    {
        _proxy = new FtpDropProxy();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        FtpLab.Remove(_serverDir);
        Directory.Delete(_local, recursive: true);
    }

    private FtpSession Session() =>
        new(new FtpEndpoint("127.0.0.1", _proxy.Port), FtpLab.Credentials, FtpLab.FastOptions, FtpLab.FastRetry);

    [FtpLabFact]
    public async Task Upload_cut_twice_mid_transfer_resumes_from_the_server_size_and_the_sha256_matches()
    {
        var file = FtpLab.RandomFile(_local, "disk.qcow2", FileLength, seed: 11);
        await using var session = Session();
        await session.RunAsync("MKD", async (c, t) => { await c.CreateDirectoriesAsync(_remote, t); return true; });
        _proxy.CutNextDataConnections(2, afterBytes: 1_500_000);

        var result = await session.UploadFileAsync(file, FtpPath.Combine(_remote, "disk.qcow2"));

        Assert.Equal(2, _proxy.Cuts);
        Assert.Equal(2, result.ResumedAt.Count);
        Assert.All(result.ResumedAt, offset => Assert.InRange(offset, 1, FileLength - 1));
        Assert.True(result.ResumedAt[1] > result.ResumedAt[0], "the second resume starts after the first one");
        Assert.True(session.Reconnects >= 2);
        Assert.Equal(FileLength, result.Bytes);
        Assert.True(result.Transferred < FileLength + 3_000_000, $"resumed uploads do not send everything again ({result.Transferred} bytes sent)");
        Assert.Equal(FtpLab.Sha256(file), FtpLab.Sha256(Path.Combine(_serverDir, "disk.qcow2")));
    }

    [FtpLabFact]
    public async Task Download_cut_twice_mid_transfer_resumes_from_the_local_length_and_the_sha256_matches()
    {
        Directory.CreateDirectory(_serverDir);
        var onServer = FtpLab.RandomFile(_serverDir, "disk.qcow2", FileLength, seed: 12);
        FtpLab.OpenUp(_serverDir);
        await using var session = Session();
        _proxy.CutNextDataConnections(2, afterBytes: 2_000_000);

        var target = Path.Combine(_local, "disk.qcow2");
        var result = await session.DownloadFileAsync(FtpPath.Combine(_remote, "disk.qcow2"), target);

        Assert.Equal(2, _proxy.Cuts);
        Assert.Equal(2, result.ResumedAt.Count);
        Assert.True(result.Transferred < FileLength + 4_000_000, $"resumed downloads do not fetch everything again ({result.Transferred} bytes)");
        Assert.Equal(FtpLab.Sha256(onServer), FtpLab.Sha256(target));
    }

    [FtpLabFact]
    public async Task Upload_resumes_a_partial_file_left_on_the_server_by_an_earlier_attempt()
    {
        var file = FtpLab.RandomFile(_local, "disk.qcow2", FileLength, seed: 13);
        Directory.CreateDirectory(_serverDir);
        await File.WriteAllBytesAsync(Path.Combine(_serverDir, "disk.qcow2"), (await File.ReadAllBytesAsync(file)).AsSpan(0, 1_000_000).ToArray());
        FtpLab.OpenUp(_serverDir);
        await using var session = Session();

        var result = await session.UploadFileAsync(file, FtpPath.Combine(_remote, "disk.qcow2"));

        Assert.Equal([1_000_000L], result.ResumedAt);
        Assert.Equal(FileLength - 1_000_000, result.Transferred);
        Assert.Equal(FtpLab.Sha256(file), FtpLab.Sha256(Path.Combine(_serverDir, "disk.qcow2")));
    }

    [FtpLabFact]
    public async Task Upload_gives_up_with_Interrupted_when_every_attempt_is_cut()
    {
        var file = FtpLab.RandomFile(_local, "disk.qcow2", 2_000_000, seed: 14);
        await using var session = new FtpSession(new FtpEndpoint("127.0.0.1", _proxy.Port), FtpLab.Credentials, FtpLab.FastOptions,
            FtpLab.FastRetry with { MaxAttempts = 3 });
        await session.RunAsync("MKD", async (c, t) => { await c.CreateDirectoriesAsync(_remote, t); return true; });
        _proxy.CutNextDataConnections(100, afterBytes: 100_000);

        var ex = await Assert.ThrowsAsync<FtpException>(() => session.UploadFileAsync(file, FtpPath.Combine(_remote, "disk.qcow2")));

        Assert.Equal(FtpFailure.Interrupted, ex.Failure);
        Assert.Equal(3, _proxy.Cuts);
        Assert.True(new FileInfo(Path.Combine(_serverDir, "disk.qcow2")).Length < 2_000_000);
    }
}
