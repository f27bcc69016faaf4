using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Reliability;

/// <summary>
/// Sees every change of the objects of one kind (an informer on the API emulator; a healthy run never re-lists, so no
/// change is missed) and keeps, per event ID, what the agent wrote for that request: its claims (attempts), its terminal
/// record, the object's deletion by a delete operation. Records a violation when a request is claimed again after its
/// terminal record, when a terminal record is written a second time or changes, when the attempts go backwards, or when
/// an object disappears while it carries a request that is not a delete.
/// </summary>
internal sealed class RequestLedger : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Request> _requests = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private readonly Informer<KubeStackResource> _informer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _progress;

    private RequestLedger(Kubernetes client, string kind, string deleteOperation)
    {
        DeleteOperation = deleteOperation;
        _informer = new Informer<KubeStackResource>(
            new KubernetesListWatcher<KubeStackResource>(client, KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(kind))),
            new InformerOptions { Name = "ledger", MinBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            NullLogger.Instance);
        _informer.AddHandler(Observe);
        _run = Task.Run(() => _informer.RunAsync(_stop.Token));
    }

    /// <summary>One submitted request and what the agent wrote for it.</summary>
    public sealed class Request(string name, string operation, string eventId)
    {
        public string Name { get; } = name;
        public string Operation { get; } = operation;
        public string EventId { get; } = eventId;

        /// <summary>Completes when the request is over: terminal record and spec.lifecycle removed (the object), or the object deleted (null).</summary>
        public TaskCompletionSource<KubeStackResource?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Claims { get; set; }
        public int LastAttempts { get; set; }
        public RequestPhase? Terminal { get; set; }
        public DateTimeOffset? CompletionTime { get; set; }
        public string? Message { get; set; }

        /// <summary>How often the request became terminal: a terminal record written, or the object deleted by its delete operation.</summary>
        public int TerminalWrites { get; set; }

        public bool Deleted { get; set; }
    }

    /// <summary>The operation whose success deletes the object (its terminal state is the object's deletion).</summary>
    public string DeleteOperation { get; }

    /// <summary>Claims plus terminal states seen so far: what the fault injector ties its kills to.</summary>
    public int Progress => Volatile.Read(ref _progress);

    /// <summary>How many times the informer listed (1 in a run where every change was seen as a watch event).</summary>
    public long Lists => _informer.ListCount;

    public static async Task<RequestLedger> StartAsync(Kubernetes client, string kind, string deleteOperation)
    {
        var ledger = new RequestLedger(client, kind, deleteOperation);
        await ledger._informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return ledger;
    }

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_gate)
            {
                return [.. _violations];
            }
        }
    }

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests.Values];
            }
        }
    }

    /// <summary>Registers a request before it is written (event IDs are unique in a run).</summary>
    public Request Expect(string name, string operation, string eventId)
    {
        var request = new Request(name, operation, eventId);
        lock (_gate)
        {
            _requests.Add(eventId, request);
        }

        return request;
    }

    /// <summary>The highest attempt count among requests that are claimed and not over yet (0 when none).</summary>
    public int MaxRunningAttempts()
    {
        lock (_gate)
        {
            return _requests.Values.Where(r => r.Terminal is null && !r.Deleted).Select(r => r.LastAttempts).DefaultIfEmpty(0).Max();
        }
    }

    /// <summary>Waits until <see cref="Progress"/> reaches <paramref name="atLeast"/>.</summary>
    public async Task WaitForProgressAsync(int atLeast, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_progress >= atLeast)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Observe(InformerEvent<KubeStackResource> evt)
    {
        var obj = evt.Object;
        var eventId = obj.Metadata.Labels is { } labels && labels.TryGetValue(Labels.EventId, out var id) ? id : null;
        lock (_gate)
        {
            if (eventId is null || !_requests.TryGetValue(eventId, out var r))
            {
                return;
            }

            if (evt.Type == InformerEventType.Deleted)
            {
                if (r.Operation != DeleteOperation)
                {
                    _violations.Add($"{r.Name} was deleted while it carried {r.Operation} ({r.EventId}).");
                }

                r.Deleted = true;
                r.TerminalWrites++;
                Progressed();
                r.Done.TrySetResult(null);
                return;
            }

            if (obj.Status?.Lifecycle is { } record && record.EventId == eventId)
            {
                Record(r, record);
            }

            if (r.Terminal is not null && obj.Spec.Lifecycle is null)
            {
                r.Done.TrySetResult(obj);
            }
        }
    }

    private void Record(Request r, LifecycleRecord record)
    {
        switch (record.Phase)
        {
            case RequestPhase.Running:
                if (r.Terminal is not null)
                {
                    _violations.Add($"{r.Name}: {r.Operation} ({r.EventId}) was claimed again (attempt {record.Attempts}) after it ended {r.Terminal}.");
                }

                if (record.Attempts < r.LastAttempts)
                {
                    _violations.Add($"{r.Name}: {r.Operation} ({r.EventId}) went back from attempt {r.LastAttempts} to {record.Attempts}.");
                }
                else if (record.Attempts > r.LastAttempts)
                {
                    r.Claims++;
                    r.LastAttempts = record.Attempts;
                    Progressed();
                }

                break;
            case RequestPhase.Succeeded or RequestPhase.Failed:
                if (r.Terminal is null)
                {
                    r.Terminal = record.Phase;
                    r.CompletionTime = record.CompletionTime;
                    r.Message = record.Message;
                    r.LastAttempts = Math.Max(r.LastAttempts, record.Attempts);
                    r.TerminalWrites++;
                    Progressed();
                }
                else if (r.Terminal != record.Phase || r.CompletionTime != record.CompletionTime)
                {
                    r.TerminalWrites++;
                    _violations.Add($"{r.Name}: {r.Operation} ({r.EventId}) ended {r.Terminal} at {r.CompletionTime:O}, then again {record.Phase} at {record.CompletionTime:O}.");
                }

                break;
        }
    }

    private void Progressed()
    {
        _progress++;
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
