using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>
/// One logged-in FTP connection (RFC 959, with RFC 2428 EPSV, RFC 3659 SIZE/MLSD/REST STREAM): binary transfers over
/// passive data connections (EPSV, else PASV), transfers from an offset (REST + STOR/RETR, APPE when REST is refused),
/// directory creation with parents, listing (MLSD, else Unix LIST), deletion of files and trees, rename, and the
/// server's hash command where it has one. Plain TCP through <see cref="Socket"/>; every wait has a timeout.
/// Not thread-safe: one command at a time. After a broken connection or a failed transfer the client is
/// <see cref="IsBroken"/> and must be replaced (see <see cref="FtpSession"/>, which reconnects and resumes).
/// Passwords never reach messages or logs: PASS is logged as <c>PASS ****</c>.
/// </summary>
public sealed partial class FtpClient : IAsyncDisposable
{
    private const int BufferSize = 1 << 16;

    private readonly Socket _control;
    private readonly NetworkStream _stream;
    private readonly FtpClientOptions _options;
    private readonly ILogger _logger;
    private readonly byte[] _readBuffer = new byte[4096];
    private int _readStart;
    private int _readEnd;
    private IReadOnlyDictionary<string, string> _features = new Dictionary<string, string>();
    private bool _epsvRefused;

    private FtpClient(FtpEndpoint endpoint, Socket control, FtpClientOptions options, ILogger logger)
    {
        Endpoint = endpoint;
        _control = control;
        _stream = new NetworkStream(control, ownsSocket: false);
        _options = options;
        _logger = logger;
    }

    public FtpEndpoint Endpoint { get; }

    /// <summary>True after the connection broke or a transfer failed half-way: the control connection's state is unknown.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>The features the server announced with FEAT (keys upper-cased first words: SIZE, MLST, REST, EPSV, HASH...).</summary>
    public IReadOnlyDictionary<string, string> Features => _features;

    /// <summary>Connects, reads the greeting, logs in, switches to binary (TYPE I) and reads the features.</summary>
    /// <exception cref="FtpException"><see cref="FtpFailure.Unreachable"/> without a connection, <see cref="FtpFailure.LoginRefused"/> on 530.</exception>
    public static async Task<FtpClient> ConnectAsync(FtpEndpoint endpoint, FtpCredentials credentials, FtpClientOptions? options = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(credentials);
        options ??= FtpClientOptions.Default;
        var socket = await ConnectSocketAsync(endpoint.Host, endpoint.Port, options.ConnectTimeout, $"the FTP server {endpoint}", cancellationToken)
            .ConfigureAwait(false);
        var client = new FtpClient(endpoint, socket, options, logger ?? NullLogger.Instance);
        try
        {
            await client.LoginAsync(credentials, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task LoginAsync(FtpCredentials credentials, CancellationToken cancellationToken)
    {
        var greeting = await ReadReplyAsync("the greeting", cancellationToken).ConfigureAwait(false);
        if (greeting.Code != 220)
        {
            throw Failure(greeting.IsTransientFailure ? FtpFailure.Interrupted : FtpFailure.Refused,
                $"The FTP server {Endpoint} did not greet with 220 but said '{greeting}'.", greeting.Code);
        }

        var user = await CommandAsync($"USER {FtpProtocol.CheckArgument(credentials.UserName, "user name")}", "USER", cancellationToken).ConfigureAwait(false);
        if (user.Code == 331)
        {
            user = await CommandAsync($"PASS {credentials.Password}", "PASS", cancellationToken).ConfigureAwait(false);
        }

        if (user.Code is 530 or 331 or 332 || (!user.IsSuccess && !user.IsTransientFailure))
        {
            throw new FtpException(FtpFailure.LoginRefused,
                $"The FTP server {Endpoint} refused the login of user {credentials.UserName} ({user.Code} {user.Text}): check the user name and password.",
                user.Code);
        }

        if (!user.IsSuccess)
        {
            throw new FtpException(FtpFailure.Interrupted, $"The FTP server {Endpoint} could not log in user {credentials.UserName} now ({user}).", user.Code);
        }

        await ExpectAsync("TYPE I", "TYPE I", cancellationToken).ConfigureAwait(false);
        var feat = await CommandAsync("FEAT", "FEAT", cancellationToken).ConfigureAwait(false);
        _features = FtpProtocol.ParseFeatures(feat);
    }

    /// <summary>The size of a remote file in bytes, or null when it does not exist (550).</summary>
    public async Task<long?> SizeAsync(string path, CancellationToken cancellationToken = default)
    {
        var reply = await CommandAsync($"SIZE {FtpProtocol.CheckArgument(path, "path")}", "SIZE", cancellationToken).ConfigureAwait(false);
        return reply.Code == 550 ? null : FtpProtocol.ParseSize(Check(reply, "SIZE", path));
    }

    /// <summary>Whether <paramref name="path"/> is an existing directory (CWD into it, then back to /).</summary>
    public async Task<bool> DirectoryExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        var reply = await CommandAsync($"CWD {FtpProtocol.CheckArgument(path, "path")}", "CWD", cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            return reply.Code == 550 || reply.Code / 100 == 5 ? false : throw Rejected(reply, "CWD", path);
        }

        await ExpectAsync("CWD /", "CWD", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Creates <paramref name="path"/> and its missing parents (mkdir -p); existing directories are fine.</summary>
    public async Task CreateDirectoriesAsync(string path, CancellationToken cancellationToken = default)
    {
        var current = string.Empty;
        foreach (var segment in FtpPath.Segments(path))
        {
            current = $"{current}/{segment}";
            var reply = await CommandAsync($"MKD {FtpProtocol.CheckArgument(current, "path")}", "MKD", cancellationToken).ConfigureAwait(false);
            if (reply.IsSuccess)
            {
                continue;
            }

            // 550/521: exists already (or really refused: then CWD fails too)
            if (reply.Code / 100 == 5 && await DirectoryExistsAsync(current, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            throw Rejected(reply, "MKD", current);
        }
    }

    /// <summary>The entries of a remote directory (MLSD when the server has MLST, else LIST); empty when it does not exist.</summary>
    public async Task<IReadOnlyList<FtpEntry>> ListAsync(string path, CancellationToken cancellationToken = default)
    {
        FtpProtocol.CheckArgument(path, "path");
        if (!await DirectoryExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return [];
        }

        var mlsd = _features.ContainsKey("MLST");
        using var buffer = new MemoryStream();
        await TransferAsync(mlsd ? $"MLSD {path}" : $"LIST {path}", mlsd ? "MLSD" : "LIST", path, restartAt: 0,
            data => CopyAsync(data, buffer, fromNetwork: true, 0, null, cancellationToken), cancellationToken).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        var entries = new List<FtpEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if ((mlsd ? FtpProtocol.ParseMlsdLine(line) : FtpProtocol.ParseUnixListLine(line)) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>
    /// Uploads <paramref name="source"/> (read from its current position to its end) to <paramref name="path"/>, writing
    /// from byte <paramref name="offset"/> of the remote file (REST + STOR; APPE when the server refuses REST for STOR).
    /// Returns the number of bytes sent. The caller checks the remote SIZE afterwards: a server that saw the data
    /// connection close early keeps a shorter file and may still answer 226.
    /// </summary>
    public async Task<long> UploadAsync(Stream source, string path, long offset = 0, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        FtpProtocol.CheckArgument(path, "path");
        long sent = 0;
        await TransferAsync($"STOR {path}", "STOR", path, offset,
            async data => sent = await CopyAsync(source, data, fromNetwork: false, offset, progress, cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        return sent;
    }

    /// <summary>Downloads <paramref name="path"/> from byte <paramref name="offset"/> (REST + RETR) into <paramref name="target"/>; returns the bytes received.</summary>
    public async Task<long> DownloadAsync(string path, Stream target, long offset = 0, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        FtpProtocol.CheckArgument(path, "path");
        long received = 0;
        await TransferAsync($"RETR {path}", "RETR", path, offset,
            async data => received = await CopyAsync(data, target, fromNetwork: true, offset, progress, cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        return received;
    }

    /// <summary>Deletes a remote file; false when it did not exist.</summary>
    public async Task<bool> DeleteFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var reply = await CommandAsync($"DELE {FtpProtocol.CheckArgument(path, "path")}", "DELE", cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            return true;
        }

        return reply.Code == 550 && await SizeAsync(path, cancellationToken).ConfigureAwait(false) is null ? false : throw Rejected(reply, "DELE", path);
    }

    /// <summary>Removes an empty remote directory; false when it did not exist.</summary>
    public async Task<bool> RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        var reply = await CommandAsync($"RMD {FtpProtocol.CheckArgument(path, "path")}", "RMD", cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            return true;
        }

        return reply.Code == 550 && !await DirectoryExistsAsync(path, cancellationToken).ConfigureAwait(false) ? false : throw Rejected(reply, "RMD", path);
    }

    /// <summary>Deletes a remote directory with everything in it; returns the number of files deleted (0 when it did not exist).</summary>
    public async Task<int> DeleteTreeAsync(string path, CancellationToken cancellationToken = default)
    {
        var files = 0;
        foreach (var entry in await ListAsync(path, cancellationToken).ConfigureAwait(false))
        {
            var child = FtpPath.Combine(path, entry.Name);
            if (entry.Type == FtpEntryType.Directory)
            {
                files += await DeleteTreeAsync(child, cancellationToken).ConfigureAwait(false);
            }
            else if (await DeleteFileAsync(child, cancellationToken).ConfigureAwait(false))
            {
                files++;
            }
        }

        await RemoveDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        return files;
    }

    /// <summary>Renames (moves) a remote file with RNFR/RNTO; replaces the target where the server allows it (vsftpd does).</summary>
    public async Task RenameAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        var reply = await CommandAsync($"RNFR {FtpProtocol.CheckArgument(from, "path")}", "RNFR", cancellationToken).ConfigureAwait(false);
        if (reply.Code != 350)
        {
            throw Rejected(reply, "RNFR", from);
        }

        Check(await CommandAsync($"RNTO {FtpProtocol.CheckArgument(to, "path")}", "RNTO", cancellationToken).ConfigureAwait(false), "RNTO", to);
    }

    /// <summary>
    /// The server's SHA-256 of a remote file when it has a hash command (HASH with OPTS HASH SHA-256, or XSHA256);
    /// null when it has none (vsftpd) or refuses.
    /// </summary>
    public async Task<string?> TryHashSha256Async(string path, CancellationToken cancellationToken = default)
    {
        FtpProtocol.CheckArgument(path, "path");
        if (_features.TryGetValue("HASH", out var hashFeature) && hashFeature.Contains("SHA-256", StringComparison.OrdinalIgnoreCase))
        {
            var opts = await CommandAsync("OPTS HASH SHA-256", "OPTS HASH", cancellationToken).ConfigureAwait(false);
            if (opts.IsSuccess)
            {
                return FtpProtocol.ParseHash(await CommandAsync($"HASH {path}", "HASH", cancellationToken).ConfigureAwait(false));
            }
        }

        if (_features.ContainsKey("XSHA256"))
        {
            return FtpProtocol.ParseHash(await CommandAsync($"XSHA256 {path}", "XSHA256", cancellationToken).ConfigureAwait(false));
        }

        return null;
    }

    /// <summary>Says goodbye (QUIT) when the connection is healthy; never throws.</summary>
    public async Task QuitAsync(CancellationToken cancellationToken = default)
    {
        if (IsBroken)
        {
            return;
        }

        try
        {
            await CommandAsync("QUIT", "QUIT", cancellationToken).ConfigureAwait(false);
        }
        catch (FtpException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _control.Dispose();
    }

    // ------------------------------------------------------------------------------------------------ transfers

    /// <summary>
    /// A data transfer: open the passive data connection, REST when <paramref name="restartAt"/> &gt; 0, send the
    /// command, move the data with <paramref name="move"/>, close the data connection, read the final reply.
    /// Any failure on the way leaves the client broken (the control connection may still carry an unread reply).
    /// </summary>
    private async Task TransferAsync(string command, string verb, string path, long restartAt, Func<NetworkStream, Task> move, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsBroken, this);
        using var data = await OpenDataConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (restartAt > 0)
            {
                var rest = await CommandAsync($"REST {restartAt.ToString(CultureInfo.InvariantCulture)}", "REST", cancellationToken).ConfigureAwait(false);
                if (rest.Code != 350)
                {
                    if (verb != "STOR")
                    {
                        throw Rejected(rest, "REST", path);
                    }

                    // no REST for STOR on this server: append to the remote file, which holds exactly restartAt bytes
                    command = $"APPE {path}";
                    verb = "APPE";
                }
            }

            var start = await CommandAsync(command, verb, cancellationToken).ConfigureAwait(false);
            if (!start.IsPreliminary)
            {
                throw Rejected(start, verb, path);
            }

            await using (var stream = new NetworkStream(data, ownsSocket: false))
            {
                try
                {
                    await move(stream).ConfigureAwait(false);
                    if (verb is "STOR" or "APPE")
                    {
                        data.Shutdown(SocketShutdown.Send);
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    IsBroken = true;
                    throw new FtpException(FtpFailure.Interrupted,
                        $"The data connection of {verb} {path} to the FTP server {Endpoint} broke: {Describe(ex)}", innerException: ex);
                }
            }

            data.Close();
            var done = await ReadReplyAsync(verb, cancellationToken).ConfigureAwait(false);
            Check(done, verb, path);
        }
        catch (FtpException ex) when (ex.Failure is FtpFailure.Interrupted or FtpFailure.Protocol)
        {
            IsBroken = true;
            throw;
        }
    }

    /// <summary>Copies <paramref name="from"/> to its end into <paramref name="to"/>; the data connection's side (read when
    /// <paramref name="fromNetwork"/>, else written) is given up after <see cref="FtpClientOptions.DataIdleTimeout"/> without progress.</summary>
    private async Task<long> CopyAsync(Stream from, Stream to, bool fromNetwork, long offset, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long moved = 0;
        while (true)
        {
            idle.CancelAfter(_options.DataIdleTimeout);
            var read = await from.ReadAsync(buffer, fromNetwork ? idle.Token : cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return moved;
            }

            idle.CancelAfter(_options.DataIdleTimeout);
            await to.WriteAsync(buffer.AsMemory(0, read), fromNetwork ? cancellationToken : idle.Token).ConfigureAwait(false);
            moved += read;
            progress?.Report(offset + moved);
        }
    }

    private async Task<Socket> OpenDataConnectionAsync(CancellationToken cancellationToken)
    {
        int port;
        if (!_epsvRefused)
        {
            var epsv = await CommandAsync("EPSV", "EPSV", cancellationToken).ConfigureAwait(false);
            if (epsv.Code == 229)
            {
                port = FtpProtocol.ParseEpsvPort(epsv);
                return await ConnectDataAsync(port, cancellationToken).ConfigureAwait(false);
            }

            if (epsv.IsTransientFailure)
            {
                throw Rejected(epsv, "EPSV", null);
            }

            _epsvRefused = true;
        }

        var pasv = await CommandAsync("PASV", "PASV", cancellationToken).ConfigureAwait(false);
        if (pasv.Code != 227)
        {
            throw Rejected(pasv, "PASV", null);
        }

        port = FtpProtocol.ParsePasvPort(pasv);
        return await ConnectDataAsync(port, cancellationToken).ConfigureAwait(false);
    }

    private Task<Socket> ConnectDataAsync(int port, CancellationToken cancellationToken)
    {
        var address = ((IPEndPoint)_control.RemoteEndPoint!).Address;
        return ConnectSocketAsync(address.ToString(), port, _options.ConnectTimeout, $"the data port {port} of the FTP server {Endpoint}", cancellationToken,
            FtpFailure.Interrupted);
    }

    private static async Task<Socket> ConnectSocketAsync(string host, int port, TimeSpan timeout, string what, CancellationToken cancellationToken,
        FtpFailure failure = FtpFailure.Unreachable)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connect.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, connect.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FtpException(failure, $"Could not connect to {what} within {timeout.TotalSeconds:0} s.");
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new FtpException(failure, $"Could not connect to {what}: {ex.Message}.", innerException: ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // ------------------------------------------------------------------------------------------------ control connection

    private async Task ExpectAsync(string command, string verb, CancellationToken cancellationToken) =>
        Check(await CommandAsync(command, verb, cancellationToken).ConfigureAwait(false), verb, null);

    /// <summary>Sends one command line and reads its reply. <paramref name="verb"/> is what logs and messages show.</summary>
    private async Task<FtpReply> CommandAsync(string command, string verb, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsBroken, this);
        LogCommand(_logger, Endpoint.ToString(), verb == "PASS" ? "PASS ****" : command);
        try
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            IsBroken = true;
            throw new FtpException(FtpFailure.Interrupted, $"The control connection to the FTP server {Endpoint} broke while sending {verb}: {Describe(ex)}",
                innerException: ex);
        }

        var reply = await ReadReplyAsync(verb, cancellationToken).ConfigureAwait(false);
        if (reply.Code == 421)
        {
            IsBroken = true;
            throw new FtpException(FtpFailure.Interrupted, $"The FTP server {Endpoint} closed the session after {verb}: {reply}.", reply.Code);
        }

        return reply;
    }

    private async Task<FtpReply> ReadReplyAsync(string after, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReplyTimeout);
        var lines = new List<string>();
        try
        {
            var first = await ReadLineAsync(timeout.Token).ConfigureAwait(false);
            if (!FtpProtocol.TryParseReplyLine(first, out var code, out var last))
            {
                IsBroken = true;
                throw new FtpException(FtpFailure.Protocol, $"The FTP server {Endpoint} answered {after} with '{first}', which is not an FTP reply.");
            }

            lines.Add(first);
            while (!last)
            {
                var line = await ReadLineAsync(timeout.Token).ConfigureAwait(false);
                lines.Add(line);
                last = line.Length >= 4 && FtpProtocol.TryParseReplyLine(line, out var c, out var end) && c == code && end;
            }

            var reply = new FtpReply(code, lines);
            LogReply(_logger, Endpoint.ToString(), after, reply.Code, reply.Text);
            return reply;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            IsBroken = true;
            throw new FtpException(FtpFailure.Interrupted,
                $"The FTP server {Endpoint} did not answer {after} within {_options.ReplyTimeout.TotalSeconds:0} s.");
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            IsBroken = true;
            throw new FtpException(FtpFailure.Interrupted, $"The control connection to the FTP server {Endpoint} broke waiting for the reply to {after}: {Describe(ex)}",
                innerException: ex);
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        while (true)
        {
            if (_readStart == _readEnd)
            {
                _readStart = 0;
                _readEnd = await _stream.ReadAsync(_readBuffer, cancellationToken).ConfigureAwait(false);
                if (_readEnd == 0)
                {
                    throw new IOException("the server closed the connection");
                }
            }

            var newline = Array.IndexOf(_readBuffer, (byte)'\n', _readStart, _readEnd - _readStart);
            var end = newline < 0 ? _readEnd : newline;
            line.Write(_readBuffer, _readStart, end - _readStart);
            _readStart = newline < 0 ? _readEnd : newline + 1;
            if (line.Length > 64 * 1024)
            {
                throw new IOException("the server sent a reply line longer than 64 KiB");
            }

            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length).TrimEnd('\r');
            }
        }
    }

    private FtpReply Check(FtpReply reply, string verb, string? path) => reply.IsSuccess ? reply : throw Rejected(reply, verb, path);

    private FtpException Rejected(FtpReply reply, string verb, string? path)
    {
        var failure = reply.Code switch
        {
            550 when verb is "SIZE" or "RETR" or "DELE" or "RMD" or "CWD" or "RNFR" => FtpFailure.NotFound,
            530 => FtpFailure.LoginRefused,
            >= 400 and < 500 => FtpFailure.Interrupted,
            >= 500 => FtpFailure.Refused,
            _ => FtpFailure.Protocol,
        };
        var target = path is null ? string.Empty : $" {path}";
        return Failure(failure, $"The FTP server {Endpoint} refused {verb}{target}: {reply.Code} {reply.Text}.", reply.Code);
    }

    private FtpException Failure(FtpFailure failure, string message, int? code)
    {
        if (failure is FtpFailure.Interrupted or FtpFailure.Protocol)
        {
            IsBroken = true;
        }

        return new FtpException(failure, message, code);
    }

    private static string Describe(Exception ex) => ex switch
    {
        OperationCanceledException => "no data moved within the idle timeout",
        IOException { InnerException: SocketException s } => s.Message,
        _ => ex.Message,
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "FTP {Server} > {Command}")]
    private static partial void LogCommand(ILogger logger, string server, string command);

    [LoggerMessage(Level = LogLevel.Debug, Message = "FTP {Server} < {Code} {Text} (after {Verb})")]
    private static partial void LogReply(ILogger logger, string server, string verb, int code, string text);
}
