using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace KubeStack.HostIntegration.Tests.Ftp;

/// <summary>
/// An FTP relay in the test process between a client and the lab's vsftpd: it forwards the control connection,
/// rewrites the server's EPSV/PASV replies so data connections come through the relay too, and can misbehave on data
/// connections: cut them abruptly (RST both ways) after a number of bytes, or slow them down. So interrupted transfers
/// are proven against the real server.
/// </summary>
public sealed partial class FtpDropProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Lock _gate = new();
    private readonly List<(long Threshold, TaskCompletionSource Signal)> _watchers = [];
    private long _relayed;
    private int _cutsLeft;

    public FtpDropProxy(string upstreamHost = FtpLab.Host, int upstreamPort = FtpLab.Port)
    {
        UpstreamHost = upstreamHost;
        UpstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _tasks.Add(AcceptLoopAsync());
    }

    public string UpstreamHost { get; }
    public int UpstreamPort { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>
    /// The next <paramref name="count"/> data connections that carry more than <paramref name="afterBytes"/> bytes are cut
    /// there (connections that carry less, like a RETR of a missing file, pass untouched and use no cut).
    /// </summary>
    public void CutNextDataConnections(int count, long afterBytes)
    {
        CutAfterBytes = afterBytes;
        Interlocked.Exchange(ref _cutsLeft, count);
    }

    public long CutAfterBytes { get; private set; }

    /// <summary>Data connections cut so far.</summary>
    public int Cuts => _cuts;
    private int _cuts;

    /// <summary>Data connections relayed so far.</summary>
    public int DataConnections => _dataConnections;
    private int _dataConnections;

    /// <summary>When set, data is relayed at about this many bytes per second.</summary>
    public long? BytesPerSecond { get; set; }

    /// <summary>Total data bytes relayed (both directions).</summary>
    public long Relayed => Interlocked.Read(ref _relayed);

    /// <summary>Completes once the relay has moved at least <paramref name="bytes"/> data bytes in total.</summary>
    public Task WhenRelayedAsync(long bytes)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (Relayed >= bytes)
            {
                return Task.CompletedTask;
            }

            _watchers.Add((bytes, signal));
        }

        return signal.Task;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_gate)
            {
                _tasks.Add(ControlSessionAsync(client));
            }
        }
    }

    private async Task ControlSessionAsync(Socket client)
    {
        using (client)
        using (var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                await upstream.ConnectAsync(UpstreamHost, UpstreamPort, _stop.Token);
                var toServer = PumpAsync(client, upstream, null, _stop.Token);
                var toClient = RelayRepliesAsync(upstream, client, _stop.Token);
                await Task.WhenAny(toServer, toClient);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
            {
            }
        }
    }

    /// <summary>Server → client, line by line, with passive-mode replies pointed at a relay listener.</summary>
    private async Task RelayRepliesAsync(Socket upstream, Socket client, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var pending = new StringBuilder();
        while (true)
        {
            var read = await upstream.ReceiveAsync(buffer, ct);
            if (read == 0)
            {
                client.Shutdown(SocketShutdown.Send);
                return;
            }

            pending.Append(Encoding.Latin1.GetString(buffer, 0, read));
            int newline;
            while ((newline = pending.ToString().IndexOf('\n', StringComparison.Ordinal)) >= 0)
            {
                var line = pending.ToString(0, newline + 1);
                pending.Remove(0, newline + 1);
                line = await RewriteAsync(line);
                await client.SendAsync(Encoding.Latin1.GetBytes(line), ct);
            }
        }
    }

    private async Task<string> RewriteAsync(string line)
    {
        var epsv = EpsvReply().Match(line);
        if (epsv.Success)
        {
            var port = await RelayDataPortAsync(int.Parse(epsv.Groups["port"].Value, CultureInfo.InvariantCulture));
            return $"229 Entering Extended Passive Mode (|||{port}|)\r\n";
        }

        var pasv = PasvReply().Match(line);
        if (pasv.Success)
        {
            var upstreamPort = (int.Parse(pasv.Groups["p1"].Value, CultureInfo.InvariantCulture) * 256) + int.Parse(pasv.Groups["p2"].Value, CultureInfo.InvariantCulture);
            var port = await RelayDataPortAsync(upstreamPort);
            return $"227 Entering Passive Mode (127,0,0,1,{port / 256},{port % 256}).\r\n";
        }

        return line;
    }

    /// <summary>Listens for the client's data connection and relays it to the server's passive port.</summary>
    private Task<int> RelayDataPortAsync(int upstreamPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        lock (_gate)
        {
            _tasks.Add(DataSessionAsync(listener, upstreamPort));
        }

        return Task.FromResult(port);
    }

    private async Task DataSessionAsync(TcpListener listener, int upstreamPort)
    {
        Socket client;
        try
        {
            using var accept = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            accept.CancelAfter(TimeSpan.FromSeconds(30));
            client = await listener.AcceptSocketAsync(accept.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            return;
        }
        finally
        {
            listener.Stop();
        }

        Interlocked.Increment(ref _dataConnections);
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using (client)
        {
            try
            {
                await upstream.ConnectAsync(UpstreamHost, upstreamPort, _stop.Token);
                var cut = new CutState(this);
                var a = PumpAsync(client, upstream, cut, _stop.Token);
                var b = PumpAsync(upstream, client, cut, _stop.Token);
                await Task.WhenAll(a, b);
                if (cut.Cut)
                {
                    Interlocked.Increment(ref _cuts);
                    Abort(client);
                    Abort(upstream);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
            {
                Abort(client);
                Abort(upstream);
            }
        }
    }

    private bool TryTakeCut()
    {
        while (true)
        {
            var left = Volatile.Read(ref _cutsLeft);
            if (left <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _cutsLeft, left - 1, left) == left)
            {
                return true;
            }
        }
    }

    /// <summary>The bytes one data connection moved and whether it was cut.</summary>
    private sealed class CutState(FtpDropProxy proxy)
    {
        private long _moved;
        private bool _decided;
        private bool _cutting;

        public bool Cut { get; set; }

        /// <summary>How many of <paramref name="count"/> bytes may still pass.</summary>
        public int Allow(int count)
        {
            lock (this)
            {
                var limit = proxy.CutAfterBytes;
                if (!_decided && _moved + count > limit)
                {
                    _decided = true;
                    _cutting = proxy.TryTakeCut();
                }

                var allowed = _cutting ? (int)Math.Max(0, Math.Min(count, limit - _moved)) : count;
                _moved += allowed;
                return allowed;
            }
        }
    }

    /// <summary>Copies from → to until EOF; on a data connection honours the cut budget and the rate limit.</summary>
    private async Task PumpAsync(Socket from, Socket to, CutState? cut, CancellationToken ct)
    {
        var buffer = new byte[cut is null ? 8192 : 32768];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, ct);
                if (read == 0)
                {
                    if (cut?.Cut != true)
                    {
                        to.Shutdown(SocketShutdown.Send);
                    }

                    return;
                }

                var allowed = cut?.Allow(read) ?? read;
                if (allowed > 0)
                {
                    await to.SendAsync(buffer.AsMemory(0, allowed), ct);
                }

                if (cut is not null)
                {
                    Count(allowed);
                    if (allowed < read)
                    {
                        cut.Cut = true;
                        Abort(from);
                        Abort(to);
                        return;
                    }

                    if (BytesPerSecond is { } rate && rate > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)allowed / rate), ct);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            if (cut is not null)
            {
                Abort(to);
            }
        }
    }

    private void Count(long bytes)
    {
        var total = Interlocked.Add(ref _relayed, bytes);
        lock (_gate)
        {
            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                if (total >= _watchers[i].Threshold)
                {
                    _watchers[i].Signal.TrySetResult();
                    _watchers.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Closes with RST (linger 0), as a dropped link or a killed peer looks to the other side.</summary>
    private static void Abort(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] tasks;
        lock (_gate)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }

    [GeneratedRegex(@"^229 .*\(\|\|\|(?<port>\d+)\|\)")]
    private static partial Regex EpsvReply();

    [GeneratedRegex(@"^227 .*?(\d+),(\d+),(\d+),(\d+),(?<p1>\d+),(?<p2>\d+)")]
    private static partial Regex PasvReply();
}
