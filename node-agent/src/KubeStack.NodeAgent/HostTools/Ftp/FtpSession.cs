using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>How often a session tries again after a transient failure (a broken connection, a cut transfer, a 4xx reply).</summary>
public sealed record FtpRetryPolicy
{
    public static readonly FtpRetryPolicy Default = new();

    /// <summary>Attempts per step (connect + command or one file transfer), the first included.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>The wait before the second attempt; doubled each time up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>What one resumable transfer did.</summary>
/// <param name="Bytes">The size of the file.</param>
/// <param name="Transferred">Bytes actually moved (less than <paramref name="Bytes"/> when the file was partly there already).</param>
/// <param name="ResumedAt">The offsets later attempts (or this call, for an earlier partial file) continued from.</param>
/// <param name="Attempts">Transfer attempts made.</param>
public sealed record FtpTransferResult(long Bytes, long Transferred, IReadOnlyList<long> ResumedAt, int Attempts);

/// <summary>
/// A logged-in connection that heals itself: steps run on a live <see cref="FtpClient"/>, and a transient failure
/// (see <see cref="FtpException.IsTransient"/>) drops the connection, waits, connects again and retries the step.
/// File transfers resume where the other side's copy ends: uploads from the remote SIZE (REST + STOR), downloads from
/// the local file's length (REST + RETR); a transfer counts only when the sizes match afterwards. A login refusal or a
/// permanent refusal ends the step at once. The password stays inside the <see cref="FtpCredentials"/>.
/// </summary>
public sealed partial class FtpSession : IAsyncDisposable
{
    private readonly FtpEndpoint _endpoint;
    private readonly FtpCredentials _credentials;
    private readonly FtpClientOptions _options;
    private readonly FtpRetryPolicy _retry;
    private readonly ILogger _logger;
    private FtpClient? _client;
    private bool _everConnected;

    public FtpSession(FtpEndpoint endpoint, FtpCredentials credentials, FtpClientOptions? options = null, FtpRetryPolicy? retry = null, ILogger? logger = null)
    {
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        _options = options ?? FtpClientOptions.Default;
        _retry = retry ?? FtpRetryPolicy.Default;
        _logger = logger ?? NullLogger.Instance;
    }

    public FtpEndpoint Endpoint => _endpoint;

    /// <summary>Reconnections made after the first connection (what the tests watch).</summary>
    public int Reconnects { get; private set; }

    /// <summary>The server's FEAT features (connects when needed).</summary>
    public Task<IReadOnlyDictionary<string, string>> FeaturesAsync(CancellationToken cancellationToken = default) =>
        RunAsync("FEAT", (c, _) => Task.FromResult(c.Features), cancellationToken);

    /// <summary>Runs <paramref name="step"/> on a live client, reconnecting and retrying it on transient failures.</summary>
    public async Task<T> RunAsync<T>(string what, Func<FtpClient, CancellationToken, Task<T>> step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
                return await step(client, cancellationToken).ConfigureAwait(false);
            }
            catch (FtpException ex) when (ShouldRetry(ex, attempt))
            {
                await RecoverAsync(what, attempt, ex, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Uploads a local file to <paramref name="remotePath"/>, resuming a shorter remote file (an earlier attempt's, or a
    /// crashed agent's) and restarting a longer one. Done when the remote SIZE equals the local length.
    /// </summary>
    public async Task<FtpTransferResult> UploadFileAsync(string localPath, string remotePath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var length = new FileInfo(localPath).Length;
        var resumed = new List<long>();
        long moved = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
                var remote = await client.SizeAsync(remotePath, cancellationToken).ConfigureAwait(false);
                if (remote == length)
                {
                    return new FtpTransferResult(length, moved, resumed, attempt);
                }

                if (remote > length)
                {
                    // not a prefix of this file: start over
                    await client.DeleteFileAsync(remotePath, cancellationToken).ConfigureAwait(false);
                    remote = 0;
                }

                var offset = remote ?? 0;
                if (offset > 0)
                {
                    resumed.Add(offset);
                    LogResume(_logger, "upload", remotePath, _endpoint.ToString(), offset, length);
                }

                await using (var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
                {
                    source.Seek(offset, SeekOrigin.Begin);
                    moved += await client.UploadAsync(source, remotePath, offset, progress, cancellationToken).ConfigureAwait(false);
                }

                var after = await client.SizeAsync(remotePath, cancellationToken).ConfigureAwait(false);
                if (after == length)
                {
                    return new FtpTransferResult(length, moved, resumed, attempt);
                }

                throw new FtpException(FtpFailure.Interrupted,
                    $"The upload of {remotePath} to the FTP server {_endpoint} ended with {after?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} bytes on the server instead of {length}.");
            }
            catch (FtpException ex) when (ShouldRetry(ex, attempt))
            {
                await RecoverAsync($"upload of {remotePath}", attempt, ex, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Downloads <paramref name="remotePath"/> into <paramref name="localPath"/>, resuming a shorter local file and
    /// restarting a longer one. Done when the local length equals the remote SIZE (the file is flushed to disk).
    /// </summary>
    /// <exception cref="FtpException"><see cref="FtpFailure.NotFound"/> when the remote file does not exist.</exception>
    public async Task<FtpTransferResult> DownloadFileAsync(string remotePath, string localPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var resumed = new List<long>();
        long moved = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
                var remote = await client.SizeAsync(remotePath, cancellationToken).ConfigureAwait(false)
                             ?? throw new FtpException(FtpFailure.NotFound, $"The FTP server {_endpoint} has no file {remotePath}.", 550);
                await using var target = new FileStream(localPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                var offset = target.Length;
                if (offset > remote)
                {
                    target.SetLength(0);
                    offset = 0;
                }

                if (offset < remote)
                {
                    if (offset > 0)
                    {
                        resumed.Add(offset);
                        LogResume(_logger, "download", remotePath, _endpoint.ToString(), offset, remote);
                    }

                    target.Seek(offset, SeekOrigin.Begin);
                    try
                    {
                        moved += await client.DownloadAsync(remotePath, target, offset, progress, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        target.Flush(flushToDisk: true);
                    }
                }

                if (target.Length == remote)
                {
                    return new FtpTransferResult(remote, moved, resumed, attempt);
                }

                throw new FtpException(FtpFailure.Interrupted,
                    $"The download of {remotePath} from the FTP server {_endpoint} ended with {target.Length} of {remote} bytes.");
            }
            catch (FtpException ex) when (ShouldRetry(ex, attempt))
            {
                await RecoverAsync($"download of {remotePath}", attempt, ex, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            _client = null;
            await client.QuitAsync().ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<FtpClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsBroken: false } live)
        {
            return live;
        }

        if (_client is { } broken)
        {
            _client = null;
            await broken.DisposeAsync().ConfigureAwait(false);
        }

        if (_everConnected)
        {
            Reconnects++;
        }

        _client = await FtpClient.ConnectAsync(_endpoint, _credentials, _options, _logger, cancellationToken).ConfigureAwait(false);
        _everConnected = true;
        return _client;
    }

    /// <summary>Transient failures are retried; a server that never answered is not retried (it is down, not flaky).</summary>
    private bool ShouldRetry(FtpException ex, int attempt) =>
        ex.IsTransient && attempt < _retry.MaxAttempts && (ex.Failure != FtpFailure.Unreachable || _everConnected);

    private async Task RecoverAsync(string what, int attempt, FtpException ex, CancellationToken cancellationToken)
    {
        LogRetry(_logger, what, _endpoint.ToString(), attempt, ex.Message);
        if (_client is { } client)
        {
            _client = null;
            await client.DisposeAsync().ConfigureAwait(false);
        }

        var delay = TimeSpan.FromTicks(Math.Min(_retry.MaxDelay.Ticks, _retry.FirstDelay.Ticks << Math.Min(attempt - 1, 16)));
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "FTP {Direction} of {Path} on {Server} resumes at byte {Offset} of {Length}.")]
    private static partial void LogResume(ILogger logger, string direction, string path, string server, long offset, long length);

    [LoggerMessage(Level = LogLevel.Warning, Message = "FTP {What} on {Server} failed (attempt {Attempt}): {Reason}; reconnecting.")]
    private static partial void LogRetry(ILogger logger, string what, string server, int attempt, string reason);
}
