using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using KubeStack.NodeAgent.Libvirt.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>Tuning of a <see cref="LibvirtConnection"/>.</summary>
public sealed record LibvirtConnectionOptions
{
    /// <summary>virConnectSetKeepAlive interval in seconds (0 disables keepalive).</summary>
    public int KeepAliveIntervalSeconds { get; init; } = 5;
    /// <summary>Unanswered keepalive messages before libvirt closes the connection.</summary>
    public uint KeepAliveCount { get; init; } = 3;
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How often the connection checks virConnectIsAlive by itself (a safety net for a missed close callback).</summary>
    public TimeSpan LivenessProbeInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// One long-lived libvirt connection (qemu:///system on a node, test:///default in tests).
/// <list type="bullet">
/// <item>Keepalive (virConnectSetKeepAlive) and close detection (virConnectRegisterCloseCallback, a liveness probe,
/// and any call failing with a connection error) lead to a reconnect with exponential backoff, cut short whenever a
/// call finds the connection lost (so a restarted libvirtd is used at the next request, not after the backoff); the domain lifecycle
/// callback is registered again on every new connection and <see cref="Reconnected"/> fires, so consumers resync
/// what they may have missed.</item>
/// <item>Domain lifecycle events (VIR_DOMAIN_EVENT_ID_LIFECYCLE) arrive on libvirt's event-loop thread, where the
/// unmanaged callback only enqueues; a pump fans them out to every <see cref="SubscribeLifecycleEvents"/> reader.</item>
/// <item>Thread safety: libvirt connections are thread-safe, so any number of threads may call into one
/// <see cref="LibvirtConnection"/> and the objects it returns at the same time. Objects (<see cref="LibvirtDomain"/>,
/// <see cref="LibvirtStoragePool"/>, <see cref="LibvirtStorageVol"/>) belong to the connection generation that
/// returned them: keep them short-lived (look up, act, dispose); after a reconnect old objects fail with a
/// connection error (<see cref="LibvirtException.IsConnectionFailure"/>).</item>
/// </list>
/// Method names follow the libvirt C calls (virDomainLookupByName → <see cref="LookupDomainByName"/>).
/// </summary>
public sealed partial class LibvirtConnection : IDisposable
{
    private static readonly ConcurrentDictionary<nint, LibvirtConnection> Registry = new();
    private static long _nextId;

    private readonly nint _id;
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private readonly Channel<DomainLifecycleEvent> _incoming = Channel.CreateUnbounded<DomainLifecycleEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly List<LifecycleSubscription> _subscribers = [];
    private readonly SemaphoreSlim _reconnectSignal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private ConnectHandle? _handle;
    private int _lifecycleCallbackId = -1;
    private bool _closeCallbackRegistered;
    private volatile bool _closed;
    private long _generation;
    private Task? _pump;
    private Task? _reconnector;
    private bool _disposed;

    private LibvirtConnection(string uri, LibvirtConnectionOptions options, ILogger logger)
    {
        Uri = uri;
        Options = options;
        _logger = logger;
        _id = (nint)Interlocked.Increment(ref _nextId);
    }

    public string Uri { get; }
    public LibvirtConnectionOptions Options { get; }

    /// <summary>Increases with every successful (re)connect: 1 after <see cref="Open"/>.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Whether a live libvirt connection is in place right now.</summary>
    public bool IsConnected
    {
        get
        {
            var h = Volatile.Read(ref _handle);
            try
            {
                return h is { IsClosed: false } && !_closed && LibvirtNative.virConnectIsAlive(h) == 1;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>Raised (on a pool thread) when the connection was lost and a new one is in place, callbacks registered
    /// again. Events of the gap are lost: resync.</summary>
    public event EventHandler<LibvirtReconnectedEventArgs>? Reconnected;

    /// <summary>Raised (on a pool thread) when the connection is found lost, before reconnecting.</summary>
    public event EventHandler<EventArgs>? Disconnected;

    /// <summary>Opens <paramref name="uri"/> (the first attempt's failure is thrown, later ones are retried).</summary>
    public static LibvirtConnection Open(string uri, LibvirtConnectionOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        LibvirtLibrary.EnsureInitialized();
        var conn = new LibvirtConnection(uri, options ?? new LibvirtConnectionOptions(), logger ?? NullLogger.Instance);
        Registry[conn._id] = conn;
        try
        {
            conn.Connect();
        }
        catch
        {
            Registry.TryRemove(conn._id, out _);
            throw;
        }
        conn._pump = Task.Run(conn.PumpAsync);
        conn._reconnector = Task.Run(conn.ReconnectLoopAsync);
        return conn;
    }

    /// <summary>A new reader of domain lifecycle events (from now on). Dispose it to stop receiving. A reader that falls
    /// more than <paramref name="capacity"/> events behind loses the oldest ones.</summary>
    public LifecycleSubscription SubscribeLifecycleEvents(int capacity = 4096)
    {
        var sub = new LifecycleSubscription(this, capacity);
        lock (_gate) _subscribers.Add(sub);
        return sub;
    }

    internal void Unsubscribe(LifecycleSubscription sub)
    {
        lock (_gate) _subscribers.Remove(sub);
    }

    /// <summary>The current handle; throws a connection error while disconnected.</summary>
    internal ConnectHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var h = Volatile.Read(ref _handle);
            if (h is null || h.IsClosed || _closed)
            {
                SignalReconnect(); // someone needs the connection: the reconnector tries now rather than at the end of its backoff
                throw new LibvirtException("virConnect", VirErrorNumber.NoConnect, VirErrorDomain.None,
                    $"the connection to {Uri} is lost; reconnecting in the background, retry later");
            }
            return h;
        }
    }

    // ---------------------------------------------------------------- host

    /// <summary>virConnectGetLibVersion: the library version of the daemon side (major*1,000,000 + minor*1,000 + release).</summary>
    public ulong GetLibVersion()
    {
        Check(LibvirtNative.virConnectGetLibVersion(Handle, out var v), "virConnectGetLibVersion");
        return v.Value;
    }

    /// <summary>virConnectGetURI: the canonical URI of the connection.</summary>
    public string GetUri() => TakeString(LibvirtNative.virConnectGetURI(Handle), "virConnectGetURI");

    // ---------------------------------------------------------------- domains

    /// <summary>virDomainLookupByName. Throws <see cref="LibvirtException"/> with <see cref="LibvirtException.IsNoDomain"/>
    /// when it does not exist; <see cref="TryLookupDomainByName"/> returns null instead.</summary>
    public LibvirtDomain LookupDomainByName(string name) =>
        new(this, CheckHandle(LibvirtNative.virDomainLookupByName(Handle, name), "virDomainLookupByName"));

    public LibvirtDomain? TryLookupDomainByName(string name)
    {
        try { return LookupDomainByName(name); }
        catch (LibvirtException ex) when (ex.IsNoDomain) { return null; }
    }

    /// <summary>virDomainLookupByUUIDString.</summary>
    public LibvirtDomain LookupDomainByUuid(Guid uuid) =>
        new(this, CheckHandle(LibvirtNative.virDomainLookupByUUIDString(Handle, uuid.ToString("D")), "virDomainLookupByUUIDString"));

    /// <summary>virDomainDefineXMLFlags: defines (or redefines) a persistent domain.</summary>
    public LibvirtDomain DefineXml(string xml, DomainDefineFlags flags = DomainDefineFlags.None) =>
        new(this, CheckHandle(LibvirtNative.virDomainDefineXMLFlags(Handle, xml, (uint)flags), "virDomainDefineXMLFlags"));

    /// <summary>virDomainCreateXML: creates and starts a transient domain.</summary>
    public LibvirtDomain CreateXml(string xml, DomainStartFlags flags = DomainStartFlags.None) =>
        new(this, CheckHandle(LibvirtNative.virDomainCreateXML(Handle, xml, (uint)flags), "virDomainCreateXML"));

    /// <summary>virConnectListAllDomains. Dispose the returned domains.</summary>
    public IReadOnlyList<LibvirtDomain> ListAllDomains(ListAllDomainsFlags flags = ListAllDomainsFlags.All)
    {
        var n = Check(LibvirtNative.virConnectListAllDomains(Handle, out var array, (uint)flags), "virConnectListAllDomains");
        var ptrs = NativeStrings.TakePointerArray(array, n);
        var result = new List<LibvirtDomain>(n);
        foreach (var p in ptrs) result.Add(new LibvirtDomain(this, new DomainHandle(p)));
        return result;
    }

    /// <summary>virConnectGetAllDomainStats: bulk statistics of every domain (for metrics).</summary>
    public unsafe IReadOnlyList<DomainStatsRecord> GetAllDomainStats(DomainStatsTypes stats = DomainStatsTypes.Default,
        ListAllDomainsFlags flags = ListAllDomainsFlags.All)
    {
        var n = Check(LibvirtNative.virConnectGetAllDomainStats(Handle, (uint)stats, out var records, (uint)flags),
            "virConnectGetAllDomainStats");
        var buf = stackalloc byte[NativeStrings.UuidStringBufLen];
        try
        {
            var result = new List<DomainStatsRecord>(n);
            for (var i = 0; i < n; i++)
            {
                var rec = (VirDomainStatsRecordNative*)Marshal.ReadIntPtr(records, i * IntPtr.Size);
                var values = new Dictionary<string, object>(rec->NParams, StringComparer.Ordinal);
                var parameters = (VirTypedParameterNative*)rec->Params;
                for (var j = 0; j < rec->NParams; j++)
                {
                    var p = &parameters[j];
                    var field = Marshal.PtrToStringUTF8((IntPtr)p->Field) ?? string.Empty;
                    object? value = p->Type switch
                    {
                        1 => p->ValueInt,
                        2 => p->ValueUInt,
                        3 => p->ValueLong,
                        4 => p->ValueULong,
                        5 => p->ValueDouble,
                        6 => p->ValueBool != 0,
                        7 => NativeStrings.Borrowed(p->ValueString),
                        _ => null,
                    };
                    if (value is not null) values[field] = value;
                }
                var uuid = LibvirtNative.virDomainGetUUIDString(rec->Dom, buf) == 0 ? Guid.Parse(NativeStrings.ReadUuid(buf)) : Guid.Empty;
                result.Add(new DomainStatsRecord(NativeStrings.Borrowed(LibvirtNative.virDomainGetName(rec->Dom)) ?? string.Empty, uuid, values));
            }
            return result;
        }
        finally
        {
            if (records != IntPtr.Zero) LibvirtNative.virDomainStatsRecordListFree(records);
        }
    }

    // ---------------------------------------------------------------- storage

    /// <summary>virStoragePoolLookupByName (<see cref="LibvirtException.IsNoStoragePool"/> when missing).</summary>
    public LibvirtStoragePool LookupStoragePoolByName(string name) =>
        new(this, CheckHandle(LibvirtNative.virStoragePoolLookupByName(Handle, name), "virStoragePoolLookupByName"));

    public LibvirtStoragePool? TryLookupStoragePoolByName(string name)
    {
        try { return LookupStoragePoolByName(name); }
        catch (LibvirtException ex) when (ex.IsNoStoragePool) { return null; }
    }

    /// <summary>virStoragePoolDefineXML: defines a persistent (inactive) pool.</summary>
    public LibvirtStoragePool StoragePoolDefineXml(string xml) =>
        new(this, CheckHandle(LibvirtNative.virStoragePoolDefineXML(Handle, xml, 0), "virStoragePoolDefineXML"));

    /// <summary>virConnectListAllStoragePools. Dispose the returned pools.</summary>
    public IReadOnlyList<LibvirtStoragePool> ListAllStoragePools(ListAllStoragePoolsFlags flags = ListAllStoragePoolsFlags.All)
    {
        var n = Check(LibvirtNative.virConnectListAllStoragePools(Handle, out var array, (uint)flags), "virConnectListAllStoragePools");
        var ptrs = NativeStrings.TakePointerArray(array, n);
        var result = new List<LibvirtStoragePool>(n);
        foreach (var p in ptrs) result.Add(new LibvirtStoragePool(this, new StoragePoolHandle(p)));
        return result;
    }

    /// <summary>virStorageVolLookupByPath (<see cref="LibvirtException.IsNoStorageVol"/> when no pool holds the path).</summary>
    public LibvirtStorageVol LookupStorageVolByPath(string path) =>
        new(this, CheckHandle(LibvirtNative.virStorageVolLookupByPath(Handle, path), "virStorageVolLookupByPath"));

    // ---------------------------------------------------------------- networks

    /// <summary>virNetworkLookupByName (<see cref="LibvirtErrorClassifier.IsNoNetwork"/> when missing).</summary>
    public LibvirtNetwork LookupNetworkByName(string name) =>
        new(this, CheckHandle(LibvirtNative.virNetworkLookupByName(Handle, name), "virNetworkLookupByName"));

    public LibvirtNetwork? TryLookupNetworkByName(string name)
    {
        try { return LookupNetworkByName(name); }
        catch (LibvirtException ex) when (ex.Code == VirErrorNumber.NoNetwork) { return null; }
    }

    /// <summary>virNetworkDefineXML: defines a persistent (inactive) network.</summary>
    public LibvirtNetwork NetworkDefineXml(string xml) =>
        new(this, CheckHandle(LibvirtNative.virNetworkDefineXML(Handle, xml), "virNetworkDefineXML"));

    /// <summary>virConnectListAllNetworks. Dispose the returned networks.</summary>
    public IReadOnlyList<LibvirtNetwork> ListAllNetworks(ListAllNetworksFlags flags = ListAllNetworksFlags.All)
    {
        var n = Check(LibvirtNative.virConnectListAllNetworks(Handle, out var array, (uint)flags), "virConnectListAllNetworks");
        var ptrs = NativeStrings.TakePointerArray(array, n);
        var result = new List<LibvirtNetwork>(n);
        foreach (var p in ptrs) result.Add(new LibvirtNetwork(this, new NetworkHandle(p)));
        return result;
    }

    // ---------------------------------------------------------------- error plumbing (used by the object wrappers)

    internal int Check(int rc, string function)
    {
        Observability.LibvirtTelemetry.Call(function, rc < 0);
        if (rc < 0) throw Fail(function);
        return rc;
    }

    internal T CheckHandle<T>(T handle, string function) where T : SafeHandle
    {
        Observability.LibvirtTelemetry.Call(function, handle.IsInvalid);
        if (!handle.IsInvalid) return handle;
        var ex = Fail(function);
        handle.Dispose();
        throw ex;
    }

    internal string TakeString(IntPtr p, string function) =>
        p == IntPtr.Zero ? throw Fail(function) : NativeStrings.Take(p)!;

    /// <summary>Reads libvirt's last error; a connection failure wakes the reconnector.</summary>
    internal LibvirtException Fail(string function)
    {
        var ex = LibvirtException.FromLastError(function);
        if (ex.IsConnectionFailure) SignalReconnect();
        return ex;
    }

    private void SignalReconnect()
    {
        if (_disposed) return;
        try { _reconnectSignal.Release(); }
        catch (ObjectDisposedException) { /* disposed meanwhile: nothing to reconnect */ }
    }

    // ---------------------------------------------------------------- connect / reconnect

    private unsafe void Connect()
    {
        var h = LibvirtNative.virConnectOpen(Uri);
        if (h.IsInvalid)
        {
            var ex = LibvirtException.FromLastError("virConnectOpen");
            h.Dispose();
            throw ex;
        }
        try
        {
            if (Options.KeepAliveIntervalSeconds > 0
                && LibvirtNative.virConnectSetKeepAlive(h, Options.KeepAliveIntervalSeconds, Options.KeepAliveCount) < 0)
            {
                var ex = LibvirtException.FromLastError("virConnectSetKeepAlive");
                if (!ex.IsNoSupport) LogOptionalFeature(_logger, Uri, ex.Function, ex.LibvirtMessage);
            }
            var closeRegistered = LibvirtNative.virConnectRegisterCloseCallback(h,
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, void>)&OnClose, _id, IntPtr.Zero) == 0;
            if (!closeRegistered)
            {
                var ex = LibvirtException.FromLastError("virConnectRegisterCloseCallback");
                if (!ex.IsNoSupport) LogOptionalFeature(_logger, Uri, ex.Function, ex.LibvirtMessage);
            }
            var callbackId = LibvirtNative.virConnectDomainEventRegisterAny(h, IntPtr.Zero, 0 /* VIR_DOMAIN_EVENT_ID_LIFECYCLE */,
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, int, IntPtr, int>)&OnLifecycle, _id, IntPtr.Zero);
            if (callbackId < 0) throw LibvirtException.FromLastError("virConnectDomainEventRegisterAny");

            ConnectHandle? old;
            int oldCallback;
            bool oldClose;
            lock (_gate)
            {
                old = _handle;
                oldCallback = _lifecycleCallbackId;
                oldClose = _closeCallbackRegistered;
                _handle = h;
                _lifecycleCallbackId = callbackId;
                _closeCallbackRegistered = closeRegistered;
                _closed = false;
            }
            if (old is not null)
            {
                // a call may have fetched the old handle an instant before the swap: release it a little later, so that
                // call fails with libvirt's connection error rather than ObjectDisposedException
                _ = Task.Delay(TimeSpan.FromSeconds(10)).ContinueWith(_ => Release(old, oldCallback, oldClose), TaskScheduler.Default);
            }
            var generation = Interlocked.Increment(ref _generation);
            LogConnected(_logger, Uri, generation);
        }
        catch
        {
            h.Dispose();
            throw;
        }
    }

    private static unsafe void Release(ConnectHandle h, int callbackId, bool closeRegistered)
    {
        if (h.IsClosed) return;
        // on a dead connection these fail: that is fine, the handle is released anyway
        if (callbackId >= 0 && LibvirtNative.virConnectDomainEventDeregisterAny(h, callbackId) < 0) LibvirtNative.virResetLastError();
        if (closeRegistered && LibvirtNative.virConnectUnregisterCloseCallback(h,
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, void>)&OnClose) < 0)
        {
            LibvirtNative.virResetLastError();
        }
        h.Dispose();
    }

    private bool NeedsReconnect()
    {
        var h = Volatile.Read(ref _handle);
        if (h is null || h.IsClosed || _closed) return true;
        try
        {
            var alive = LibvirtNative.virConnectIsAlive(h);
            if (alive < 0) LibvirtNative.virResetLastError();
            return alive != 1;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private async Task ReconnectLoopAsync()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await _reconnectSignal.WaitAsync(Options.LivenessProbeInterval, token).ConfigureAwait(false);
                if (token.IsCancellationRequested || !NeedsReconnect()) continue;

                _closed = true;
                LogLost(_logger, Uri);
                Raise(Disconnected, EventArgs.Empty);
                var delay = Options.ReconnectInitialDelay;
                var attempt = 0;
                while (!token.IsCancellationRequested)
                {
                    attempt++;
                    try
                    {
                        Connect();
                        Raise(Reconnected, new LibvirtReconnectedEventArgs(Generation, attempt));
                        break;
                    }
                    catch (LibvirtException ex)
                    {
                        LogReconnectFailed(_logger, Uri, attempt, delay.TotalMilliseconds, ex.LibvirtMessage);
                        // the backoff grows while nobody needs the connection; a call that finds it lost (a signal) cuts the
                        // wait short, so a daemon that is back is used at the next request's retry, not seconds later;
                        // never more often than every ReconnectInitialDelay
                        await Task.Delay(Options.ReconnectInitialDelay, token).ConfigureAwait(false);
                        if (delay > Options.ReconnectInitialDelay)
                        {
                            await _reconnectSignal.WaitAsync(delay - Options.ReconnectInitialDelay, token).ConfigureAwait(false);
                        }

                        while (_reconnectSignal.CurrentCount > 0) await _reconnectSignal.WaitAsync(token).ConfigureAwait(false);
                        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Options.ReconnectMaxDelay.Ticks));
                    }
                }
                while (_reconnectSignal.CurrentCount > 0) await _reconnectSignal.WaitAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null) return;
        try { handler(this, args); }
#pragma warning disable CA1031 // a subscriber's bug must not stop reconnecting
        catch (Exception ex) { LogHandlerFailed(_logger, Uri, ex); }
#pragma warning restore CA1031
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var evt in _incoming.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                LifecycleSubscription[] subs;
                lock (_gate) subs = [.. _subscribers];
                foreach (var s in subs) s.Write(evt);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    // ---------------------------------------------------------------- unmanaged callbacks: only enqueue / signal

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe int OnLifecycle(IntPtr conn, IntPtr dom, int evt, int detail, IntPtr opaque)
    {
        if (!Registry.TryGetValue(opaque, out var self)) return 0;
        var name = NativeStrings.Borrowed(LibvirtNative.virDomainGetName(dom)) ?? string.Empty;
        var buf = stackalloc byte[NativeStrings.UuidStringBufLen];
        var uuid = LibvirtNative.virDomainGetUUIDString(dom, buf) == 0 && Guid.TryParse(NativeStrings.ReadUuid(buf), out var g) ? g : Guid.Empty;
        self._incoming.Writer.TryWrite(new DomainLifecycleEvent(name, uuid, (DomainLifecycleEventType)evt, detail, DateTimeOffset.UtcNow));
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnClose(IntPtr conn, int reason, IntPtr opaque)
    {
        if (!Registry.TryGetValue(opaque, out var self)) return;
        var current = Volatile.Read(ref self._handle);
        // a late close of an older generation's connection must not flag the current one
        if (current is null || current.IsClosed || current.DangerousGetHandle() != conn) return;
        self._closed = true;
        self.SignalReconnect();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        try { _reconnector?.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        try { _pump?.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        ConnectHandle? h;
        lock (_gate)
        {
            h = _handle;
            _handle = null;
        }
        if (h is not null) Release(h, _lifecycleCallbackId, _closeCallbackRegistered);
        Registry.TryRemove(_id, out _);
        LifecycleSubscription[] subs;
        lock (_gate) subs = [.. _subscribers];
        foreach (var s in subs) s.Complete();
        _incoming.Writer.TryComplete();
        _stop.Dispose();
        _reconnectSignal.Dispose();
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "libvirt connection to {Uri} open (generation {Generation})")]
    private static partial void LogConnected(ILogger logger, string uri, long generation);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "libvirt connection to {Uri} lost; reconnecting")]
    private static partial void LogLost(ILogger logger, string uri);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "reconnecting to {Uri} failed (attempt {Attempt}); next try in {DelayMs} ms: {Reason}")]
    private static partial void LogReconnectFailed(ILogger logger, string uri, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "libvirt connection to {Uri}: {Function} unavailable: {Reason}")]
    private static partial void LogOptionalFeature(ILogger logger, string uri, string function, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Error, Message = "a connection event handler for {Uri} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string uri, Exception exception);
}

/// <summary>Data of <see cref="LibvirtConnection.Reconnected"/>.</summary>
public sealed class LibvirtReconnectedEventArgs(long generation, int attempts) : EventArgs
{
    public long Generation { get; } = generation;
    public int Attempts { get; } = attempts;
}

/// <summary>A reader of domain lifecycle events; dispose to unsubscribe.</summary>
public sealed class LifecycleSubscription : IDisposable
{
    private readonly LibvirtConnection _owner;
    private readonly Channel<DomainLifecycleEvent> _channel;

    internal LifecycleSubscription(LibvirtConnection owner, int capacity)
    {
        _owner = owner;
        _channel = Channel.CreateBounded<DomainLifecycleEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = true,
        });
    }

    public ChannelReader<DomainLifecycleEvent> Reader => _channel.Reader;

    internal void Write(DomainLifecycleEvent evt) => _channel.Writer.TryWrite(evt);
    internal void Complete() => _channel.Writer.TryComplete();

    public void Dispose()
    {
        _owner.Unsubscribe(this);
        _channel.Writer.TryComplete();
    }
}
