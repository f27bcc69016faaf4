using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Informers;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Runtime;

public sealed class AgentControllerOptions
{
    /// <summary>Objects processed in parallel (each object is only ever in one worker).</summary>
    public int Workers { get; init; } = 4;

    /// <summary>How often every cached object with a pending request or deletion is enqueued again (safety net).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Spread of each retry delay (±25 % by default), so the requests one libvirtd outage failed together do not retry
    /// in step (docs/decisions.md `libvirtd-restart-retry`).
    /// </summary>
    public double RetryJitter { get; init; } = 0.25;

    /// <summary>Informer backoff bounds (tests shorten them).</summary>
    public TimeSpan WatchMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan WatchMaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Wires the agent's controller: one informer per kind (this node's objects only), whose callbacks only update the
/// cache and enqueue <c>kind/namespace/name</c>; a keyed work queue; workers running the <see cref="RequestProcessor"/>.
/// Workers start only after every informer has listed once. When a loop dies the whole controller stops (and the
/// process with it: the kubelet restarts it) instead of limping on.
/// </summary>
public sealed partial class AgentController : IDisposable
{
    private readonly Dictionary<string, Informer<KubeStackResource>> _informers = new(StringComparer.Ordinal);
    private readonly RequestProcessor _processor;
    private readonly AgentControllerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public AgentController(LifecycleCatalog catalog, Func<KindSpec, IListWatcher<KubeStackResource>> listWatchers, RequestProcessor processor,
        AgentControllerOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(listWatchers);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = loggerFactory.CreateLogger<AgentController>();
        _time = time ?? TimeProvider.System;
        Queue = new WorkQueue<ResourceKey>(
            new WorkQueueOptions { Name = "node-agent", BaseDelay = options.RetryBaseDelay, MaxDelay = options.RetryMaxDelay, Jitter = options.RetryJitter },
            _time, loggerFactory.CreateLogger<WorkQueue<ResourceKey>>());
        foreach (var kind in catalog.Kinds)
        {
            var informer = new Informer<KubeStackResource>(listWatchers(kind),
                new InformerOptions { Name = kind.Plural, MinBackoff = options.WatchMinBackoff, MaxBackoff = options.WatchMaxBackoff },
                loggerFactory.CreateLogger<Informer<KubeStackResource>>(), _time);
            var kindName = kind.Kind;
            informer.AddHandler(evt =>
            {
                if (ShouldEnqueue(evt))
                {
                    Queue.Add(new ResourceKey(kindName, evt.Object.Metadata.NamespaceProperty ?? "default", evt.Object.Metadata.Name));
                }
            });
            _informers[kind.Kind] = informer;
        }

        // A new request is claimed from the informer's copy (no GET on the hot path; RequestProcessor.UseCache).
        processor.UseCache(key => _informers.TryGetValue(key.Kind, out var informer) ? informer.Get(key.Namespace, key.Name) : null);
    }

    public WorkQueue<ResourceKey> Queue { get; }

    public IReadOnlyDictionary<string, Informer<KubeStackResource>> Informers => _informers;

    public bool HasSynced => _informers.Values.All(i => i.HasSynced);

    /// <summary>
    /// Whether an informer event can need work. Status-only changes (our own writes, mostly) are skipped; a new
    /// generation (spec changed: a request arrived), a deletion, finalizer or label changes, a synthesized delete and
    /// every add (including the initial list: interrupted requests are resumed) are enqueued.
    /// </summary>
    public static bool ShouldEnqueue(InformerEvent<KubeStackResource> evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (evt.Type != InformerEventType.Modified || evt.Old is not { } old)
        {
            return true;
        }

        var now = evt.Object.Metadata;
        var before = old.Metadata;
        return now.Generation != before.Generation
            || now.DeletionTimestamp != before.DeletionTimestamp
            || !(now.Finalizers ?? []).SequenceEqual(before.Finalizers ?? [])
            || !LabelsEqual(now.Labels, before.Labels);
    }

    private static bool LabelsEqual(IDictionary<string, string>? a, IDictionary<string, string>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }

        return a is null || a.All(kv => b!.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var informerTasks = _informers.Values.Select(i => i.RunAsync(stop.Token)).ToList();
        var synced = Task.WhenAll(_informers.Values.Select(i => i.WaitForSyncAsync(stop.Token)));
        var firstDone = await Task.WhenAny(informerTasks.Append(synced)).ConfigureAwait(false);
        if (firstDone != synced || synced.IsCanceled)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await AwaitQuietlyAsync(informerTasks).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            await firstDone.ConfigureAwait(false);
            throw new InvalidOperationException("An informer stopped before the first list completed.");
        }

        LogSynced(_informers.Count, Queue.Depth);
        var loops = new List<Task>(informerTasks)
        {
            Queue.RunWorkersAsync(_options.Workers, _processor.ProcessAsync, stop.Token),
            ResyncLoopAsync(stop.Token),
        };
        var ended = await Task.WhenAny(loops).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await AwaitQuietlyAsync(loops).ConfigureAwait(false);
        if (!cancellationToken.IsCancellationRequested)
        {
            await ended.ConfigureAwait(false);
            throw new InvalidOperationException("A controller loop ended on its own; stopping the agent.");
        }
    }

    private async Task ResyncLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ResyncPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var (kind, informer) in _informers)
                {
                    foreach (var obj in informer.List())
                    {
                        if (obj.Spec.Lifecycle is not null || obj.Metadata.DeletionTimestamp is not null)
                        {
                            Queue.Add(new ResourceKey(kind, obj.Metadata.NamespaceProperty ?? "default", obj.Metadata.Name));
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task AwaitQuietlyAsync(IEnumerable<Task> tasks)
    {
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception)
        {
            // The first failure is rethrown by the caller.
        }
    }

    public void Dispose() => Queue.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "All {Count} informers synced; {Depth} objects queued; starting workers.")]
    private partial void LogSynced(int count, int depth);
}
