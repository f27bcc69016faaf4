using System.Collections.Concurrent;
using System.Diagnostics;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Observability;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Faults;

/// <summary>How a restart of node2's libvirtd meets the request it is tied to.</summary>
internal enum RestartMode
{
    /// <summary>The daemon is frozen before the handler runs; once the handler's call waits unread in the daemon's
    /// socket (seen in /proc/PID/net/tcp) the daemon is killed: the handler is inside a libvirt call.</summary>
    InCall,

    /// <summary>The daemon is killed right after the handler's k-th libvirt call returned (between two calls; what the
    /// first calls did stays done).</summary>
    AfterCall,
}

/// <summary>One restart of node2's libvirtd and the request attempt it hit.</summary>
internal sealed record RestartRecord(string Object, string Operation, RestartMode Mode, int Calls, int PendingBytes, HandlerResult Result);

/// <summary>
/// Restarts node2's libvirtd during requests, tied to request progress: every <c>every</c>-th first attempt of a
/// request (counting from the first) gets a restart, alternately <see cref="RestartMode.InCall"/> and
/// <see cref="RestartMode.AfterCall"/> (its call number drawn from a seeded random source). One outage at a time, and
/// apart: a request whose turn comes before the daemon answers again, the agent's connection (<see cref="Watch"/>) is
/// back and <see cref="QuietSuccesses"/> handlers have succeeded since, runs undisturbed. The daemon is started again in the background, the way lab-up.sh starts it, while the agent
/// finds out by itself.
/// </summary>
internal sealed class LibvirtdRestarts : IDisposable
{
    private const string RequestSourceName = "KubeStack.NodeAgent.Requests";

    /// <summary>Handler successes needed after an outage before the next restart (outages apart, not back to back).</summary>
    private const int QuietSuccesses = 4;
    private readonly Random _random;
    private readonly int _every;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<RestartRecord> _records = new();
    private readonly ConcurrentBag<Task> _starts = [];
    private readonly ConcurrentQueue<TimeSpan> _downtimes = new();
    private readonly ConcurrentQueue<(TimeSpan Killed, TimeSpan Answered)> _answered = new();
    private readonly ConcurrentQueue<TimeSpan> _reconnected = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _firstAttempts;
    private int _planned;
    private int _quietSuccesses;
    private LibvirtConnection? _watched;
    private bool _stopped;
    private Armed? _armed;

    public LibvirtdRestarts(int seed, int every)
    {
        _random = new Random(seed);
        _every = every;
        // LibvirtTelemetry reports every returned libvirt call as a child of the request's Activity: the hook of AfterCall
        _listener = new ActivityListener
        {
            // the request source by name: RequestProcessor's static ActivitySource may be under construction when this runs
            ShouldListenTo = s => s.Name is LibvirtTelemetry.SourceName or RequestSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = OnActivityStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<RestartRecord> Records => [.. _records];

    /// <summary>Per restart: from the kill until <c>virsh list</c> answered again.</summary>
    public IReadOnlyList<TimeSpan> Downtimes => [.. _downtimes];

    /// <summary>Per restart: from node2 answering again until <paramref name="connection"/> (the agent's) had reconnected.</summary>
    public IReadOnlyList<TimeSpan> ReconnectLags()
    {
        // the first reconnect after the kill; it may come before virsh saw the daemon answer (then the lag is 0)
        var reconnects = _reconnected.Order().ToList();
        return [.. _answered.Select(a => reconnects.FirstOrDefault(r => r > a.Killed, TimeSpan.MaxValue) is var r && r != TimeSpan.MaxValue
            ? (r > a.Answered ? r - a.Answered : TimeSpan.Zero)
            : TimeSpan.MaxValue)];
    }

    /// <summary>Records when the agent's connection reconnects (for <see cref="ReconnectLags"/>).</summary>
    public void Watch(LibvirtConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        connection.Reconnected += (_, _) => _reconnected.Enqueue(_clock.Elapsed);
        _watched = connection;
    }

    public ILifecycleHandler Wrap(ILifecycleHandler inner) => new RestartingHandler(inner, this);

    /// <summary>No more restarts; waits for those still in progress (node2 answers again when this returns).</summary>
    public async Task SettleAsync()
    {
        Volatile.Write(ref _stopped, true);
        await Task.WhenAll(_starts).WaitAsync(TimeSpan.FromSeconds(90));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _one.Dispose();
    }

    private (RestartMode Mode, int Calls)? Plan(RequestContext context)
    {
        if (Volatile.Read(ref _stopped) || Volatile.Read(ref _quietSuccesses) > 0 || context.Attempt != 1 || Interlocked.Increment(ref _firstAttempts) % _every != 1 % _every || !_one.Wait(0))
        {
            return null;
        }

        lock (_random)
        {
            return _planned++ % 2 == 0 ? (RestartMode.InCall, 0) : (RestartMode.AfterCall, _random.Next(1, 4));
        }
    }

    private async Task<HandlerResult> RunAsync(ILifecycleHandler inner, RequestContext context, CancellationToken ct)
    {
        if (Plan(context) is not { } plan)
        {
            var undisturbed = await inner.HandleAsync(context, ct);
            if (undisturbed is HandlerResult.Success && Volatile.Read(ref _quietSuccesses) > 0) Interlocked.Decrement(ref _quietSuccesses);
            return undisturbed;
        }

        var released = false;
        try
        {
            if (plan.Mode == RestartMode.InCall)
            {
                var pid = Node2Libvirtd.Freeze();
                var handler = Task.Run(() => inner.HandleAsync(context, ct), ct);
                var pending = 0;
                var sw = Stopwatch.StartNew();
                while (!handler.IsCompleted && (pending = Node2Libvirtd.LargestPendingCall(pid)) == 0 && sw.Elapsed < TimeSpan.FromSeconds(10))
                {
                    await Task.Delay(2, ct);
                }

                var killedAt = Stopwatch.StartNew();
                Node2Libvirtd.Kill();
                released = StartInBackground(killedAt);
                var result = await handler;
                _records.Enqueue(new RestartRecord(context.Name, context.Operation.Key, plan.Mode, 0, pending, result));
                return result;
            }

            var armed = new Armed(context.Name, plan.Calls);
            Volatile.Write(ref _armed, armed);
            HandlerResult afterCall;
            try
            {
                afterCall = await inner.HandleAsync(context, ct);
            }
            finally
            {
                Interlocked.CompareExchange(ref _armed, null, armed);
            }

            if (armed.KilledAt is { } killed)
            {
                released = StartInBackground(killed);
                _records.Enqueue(new RestartRecord(context.Name, context.Operation.Key, plan.Mode, plan.Calls, 0, afterCall));
            }

            return afterCall;
        }
        finally
        {
            if (!released) _one.Release();
        }
    }

    private bool StartInBackground(Stopwatch killedAt)
    {
        var killed = _clock.Elapsed - killedAt.Elapsed;
        _starts.Add(Task.Run(async () =>
        {
            try
            {
                await Node2Libvirtd.StartAsync();
                _downtimes.Enqueue(killedAt.Elapsed);
                _answered.Enqueue((killed, _clock.Elapsed));
                // one outage at a time: the next restart only once the agent is connected again
                if (_watched is { } agent)
                {
                    await Await.UntilAsync(() => agent.IsConnected, TimeSpan.FromSeconds(60), "the agent's connection coming back after a restart");
                }

                Volatile.Write(ref _quietSuccesses, QuietSuccesses);
            }
            finally
            {
                _one.Release();
            }
        }));
        return true;
    }

    private void OnActivityStopped(Activity activity)
    {
        if (activity.Source.Name != LibvirtTelemetry.SourceName || Volatile.Read(ref _armed) is not { } armed
            || activity.Parent?.GetTagItem("kubestack.name") as string != armed.Name)
        {
            return;
        }

        if (Interlocked.Decrement(ref armed.Remaining) == 0)
        {
            Node2Libvirtd.Kill();
            armed.KilledAt = Stopwatch.StartNew();
        }
    }

    private sealed class Armed(string name, int calls)
    {
        public string Name { get; } = name;
        public int Remaining = calls;
        public Stopwatch? KilledAt { get; set; }
    }

    private sealed class RestartingHandler(ILifecycleHandler inner, LibvirtdRestarts restarts) : ILifecycleHandler
    {
        public string Kind => inner.Kind;
        public string Key => inner.Key;

        public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
            restarts.RunAsync(inner, context, cancellationToken);
    }
}
