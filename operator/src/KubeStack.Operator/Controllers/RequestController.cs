using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Operator.Observability;
using KubeStack.Operator.Routing;
using KubeStack.Operator.Webhooks;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using KubeStack.Runtime.Observability;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Controllers;

public sealed class RequestControllerOptions
{
    /// <summary>Objects reconciled in parallel.</summary>
    public int Workers { get; init; } = 4;
    /// <summary>An agent whose Lease is older than this is not live: no new placements, and its accepted requests get NodeReachable=False.</summary>
    public TimeSpan NodeTimeout { get; init; } = TimeSpan.FromSeconds(40);
    /// <summary>How often accepted-but-not-started requests are checked against their node's Lease.</summary>
    public TimeSpan LivenessCheckPeriod { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a request waits behind a running one before it is looked at again.</summary>
    public TimeSpan BusyRecheck { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The backstop behind the webhook (architecture §2, operator): for every pending request (spec.lifecycle with no
/// status.lifecycle for this generation) it re-runs the admission checks, resolves the node, writes status.lifecycle
/// Accepted (status.nodeName, NodeReachable) and then the label <c>host=&lt;node&gt;</c> that hands the object to that
/// node's agent; a request it refuses or cannot place ends Failed (status, Warning Event, spec.lifecycle removed with the
/// seed's spec.status). Accepted requests whose agent stops renewing its Lease get NodeReachable=False/NodeUnreachable
/// (and status.lifecycle.reason NodeUnreachable); they stay on their node.
/// </summary>
public sealed class RequestController
{
    public const string Component = "kubestack-operator";
    public const string AcceptedReason = "Accepted";
    public const string NodeReachableReason = "NodeReachable";

    private readonly LifecycleCatalog _catalog;
    private readonly Func<string, IListWatcher<KubeStackResource>> _listWatchers;
    private readonly Func<string, ResourceClient<KubeStackResource>> _clients;
    private readonly INodeDirectory _nodes;
    private readonly IEventRecorder _events;
    private readonly RequestControllerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Informer<KubeStackResource>> _informers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResourceClient<KubeStackResource>> _resourceClients = new(StringComparer.Ordinal);
    private readonly RequestChecks _checks;
    private long _accepted;

    public RequestController(LifecycleCatalog catalog, Func<string, IListWatcher<KubeStackResource>> listWatchers,
        Func<string, ResourceClient<KubeStackResource>> clients, INodeDirectory nodes, IEventRecorder events,
        RequestControllerOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        _catalog = catalog;
        _listWatchers = listWatchers;
        _clients = clients;
        _nodes = nodes;
        _events = events;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RequestController>();
        _time = time ?? TimeProvider.System;
        foreach (var kind in catalog.Kinds)
        {
            _informers[kind.Kind] = new Informer<KubeStackResource>(_listWatchers(kind.Kind), new InformerOptions { Name = kind.Plural },
                loggerFactory.CreateLogger($"{typeof(Informer<>).Namespace}.Informer.{kind.Plural}"), _time);
            _resourceClients[kind.Kind] = _clients(kind.Kind);
        }

        _checks = new RequestChecks(catalog, new InformerLookup(_informers));
    }

    /// <summary>Requests this controller marked Accepted (for tests and logs).</summary>
    public long AcceptedCount => Interlocked.Read(ref _accepted);

    /// <summary>Builds the list-watchers and clients on a real API connection.</summary>
    public static RequestController Create(Kubernetes client, LifecycleCatalog catalog, INodeDirectory nodes, IEventRecorder events,
        RequestControllerOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(catalog);
        return new RequestController(catalog,
            kind => new KubernetesListWatcher<KubeStackResource>(client, ResourceOf(catalog, kind)),
            kind => new ResourceClient<KubeStackResource>(client, ResourceOf(catalog, kind)),
            nodes, events, options, loggerFactory, time);
    }

    public static ApiResource ResourceOf(LifecycleCatalog catalog, string kind)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ApiResource(KubeStackResource.Group, KubeStackResource.Version, catalog.Kind(kind).Plural, kind);
    }

    /// <summary>Runs informers and workers until cancelled (the leader runs it; losing leadership cancels it).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var queue = new WorkQueue<string>(new WorkQueueOptions { Name = "operator-requests" }, _time, _logger);
        foreach (var (kind, informer) in _informers)
        {
            informer.AddHandler(evt =>
            {
                if (evt.Type != InformerEventType.Deleted && evt.Object.Spec.Lifecycle is not null)
                {
                    queue.Add($"{kind}/{evt.Key}");
                }
            });
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var informerTasks = _informers.Values.Select(i => i.RunAsync(linked.Token)).ToList();
        try
        {
            await Task.WhenAll(_informers.Values.Select(i => i.WaitForSyncAsync(linked.Token))).ConfigureAwait(false);
            _logger.LogInformation("Request controller synced {Count} informers; reconciling.", _informers.Count);
            await queue.RunWorkersAsync(_options.Workers, ReconcileKeyAsync, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(informerTasks).ConfigureAwait(false);
        }
    }

    private Task<WorkResult> ReconcileKeyAsync(string key, CancellationToken cancellationToken)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var kind = key[..slash];
        var objectKey = key[(slash + 1)..];
        if (!_informers[kind].TryGet(objectKey, out var obj) || obj is null)
        {
            return Task.FromResult(WorkResult.Done);
        }

        obj.Kind = kind;
        return ReconcileAsync(obj, cancellationToken);
    }

    /// <summary>One pass over one object (from the cache); the writes are conditional on the latest object.</summary>
    public async Task<WorkResult> ReconcileAsync(KubeStackResource obj, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj.Metadata.DeletionTimestamp is not null || obj.Spec.Lifecycle is null)
        {
            return WorkResult.Done;
        }

        var generation = obj.Metadata.Generation ?? 0;
        var record = obj.Status?.Lifecycle;
        if (record is not null && record.Generation == generation)
        {
            return record.Phase == RequestPhase.Accepted
                ? await CheckLivenessAsync(obj, cancellationToken).ConfigureAwait(false)
                : WorkResult.Done; // the agent has it (Running) or it ended
        }

        if (record is { Phase: RequestPhase.Accepted or RequestPhase.Running })
        {
            // An earlier submission is still running: the agent runs this one after it (it keeps a newer spec.lifecycle).
            return WorkResult.After(_options.BusyRecheck);
        }

        if (_checks.CheckFormat(obj) is { } format)
        {
            await FailAsync(obj, format, cancellationToken).ConfigureAwait(false);
            return WorkResult.Done;
        }

        var operation = _catalog.Find(obj.Kind, obj.Spec.LifecycleKey!)!;
        using var activity = OperatorTelemetry.StartRequestSpan("route", obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name, obj.Spec.LifecycleKey,
            EventIdOf(obj), obj.Metadata.Annotations, ActivityKind.Internal);
        var nodes = await _nodes.NodesAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var (node, why, problem) = await ResolveNodeAsync(obj, operation, nodes, now, cancellationToken).ConfigureAwait(false);
        activity?.SetTag("kubestack.node", node);
        problem ??= await _checks.CheckClusterAsync(obj, node, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            await FailAsync(obj, problem, cancellationToken).ConfigureAwait(false);
            return WorkResult.Done;
        }

        var info = nodes.FirstOrDefault(n => n.Name == node);
        var live = info is not null && info.IsLive(now, _options.NodeTimeout);
        return await AcceptAsync(obj, node!, why, live, info, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(string? Node, string Why, RequestProblem? Problem)> ResolveNodeAsync(KubeStackResource obj, OperationSpec operation,
        IReadOnlyList<NodeInfo> nodes, DateTimeOffset now, CancellationToken ct)
    {
        var label = obj.Metadata.Labels?.TryGetValue(Labels.Host, out var h) == true && !string.IsNullOrEmpty(h) ? h : null;
        var owner = obj.Status?.NodeName is { Length: > 0 } s ? s : null;
        var subject = $"{obj.Kind} '{obj.Metadata.Name}'";
        if (operation.Effect != OperationEffect.Create)
        {
            // Only the agent of the node that holds the host object can act on it: the owner wins.
            if ((owner ?? label ?? obj.Spec.NodeName) is { Length: > 0 } existing)
            {
                return (existing, owner is not null ? "the node that owns the object" : label is not null ? "the host label" : "spec.nodeName", null);
            }

            return (null, "", new RequestProblem(ProblemReasons.Unschedulable,
                $"{subject}: {operation.Key} cannot be placed: the object has no node (no status.nodeName, host label or spec.nodeName) and only creates are scheduled; create it first."));
        }

        if (obj.Spec.NodeName is { Length: > 0 } asked)
        {
            return (asked, "spec.nodeName", null);
        }

        if (label is not null)
        {
            return (label, "the host label", null);
        }

        if (owner is not null)
        {
            return (owner, "the node that owns the object", null);
        }

        if (await _checks.ReferencedNodeAsync(obj, ct).ConfigureAwait(false) is { } referenced)
        {
            return (referenced, "the node of the objects it references", null);
        }

        var placement = Scheduler.Choose(nodes, new PlacementNeeds(RequestChecks.MemoryBytesOf(obj, operation)), now, _options.NodeTimeout);
        return placement.Placed
            ? (placement.Node, placement.Reason, null)
            : (null, "", new RequestProblem(ProblemReasons.Unschedulable, $"{subject}: {operation.Key} cannot be placed: {placement.Reason}."));
    }

    private async Task<WorkResult> AcceptAsync(KubeStackResource obj, string node, string why, bool live, NodeInfo? info, CancellationToken ct)
    {
        var key = obj.Spec.LifecycleKey!;
        var generation = obj.Metadata.Generation ?? 0;
        var eventId = EventIdOf(obj);
        var now = _time.GetUtcNow();
        var message = $"{key} accepted for node {node} ({why}).";
        var unreachable = UnreachableMessage(node, info, now);
        var client = _resourceClients[obj.Kind];
        var update = await client.UpdateStatusAsync(obj.Metadata.NamespaceProperty!, obj.Metadata.Name!, latest =>
        {
            if (latest.Metadata.Generation != generation || latest.Spec.LifecycleKey != key || latest.Status?.Lifecycle?.Generation == generation
                || latest.Metadata.DeletionTimestamp is not null)
            {
                return false; // a newer spec, or this submission is already recorded (by us, another leader, or the agent)
            }

            var status = latest.Status ??= new KubeStackStatus();
            status.Lifecycle = new LifecycleRecord
            {
                Key = key,
                EventId = eventId,
                Phase = RequestPhase.Accepted,
                Reason = live ? AcceptedReason : ProblemReasons.NodeUnreachable,
                Message = live ? message : $"{message} {unreachable}",
                Attempts = 0,
                Generation = generation,
            };
            if (string.IsNullOrEmpty(status.NodeName))
            {
                status.NodeName = node;
            }

            SetCondition(status, ConditionTypes.NodeReachable, live ? "True" : "False",
                live ? NodeReachableReason : ProblemReasons.NodeUnreachable, live ? $"The agent on node {node} is live." : unreachable, generation, now);
            return true;
        }, ct).ConfigureAwait(false);
        if (!update.Written || update.Object is null)
        {
            return WorkResult.Done;
        }

        Interlocked.Increment(ref _accepted);
        OperatorTelemetry.RoutingDecisions.Add(1, new("kind", obj.Kind), new("operation", key), new("decision", "accepted"),
            new("reason", live ? AcceptedReason : ProblemReasons.NodeUnreachable));
        var accepted = update.Object;
        accepted.Kind = obj.Kind;
        if (accepted.Metadata.Labels?.TryGetValue(Labels.Host, out var current) != true || current != node)
        {
            var patch = new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.Host] = node } } };
            if (Activity.Current is { } route && accepted.Metadata.Annotations?.ContainsKey(RequestTrace.Annotation) != true)
            {
                // the agent continues this trace under the routing span (a client's own traceparent is kept)
                patch["metadata"]!["annotations"] = new JsonObject { [RequestTrace.Annotation] = RequestTrace.Format(route) };
            }

            await client.PatchAsync(obj.Metadata.NamespaceProperty!, obj.Metadata.Name!, patch, ct).ConfigureAwait(false);
        }

        _logger.LogInformation("{Kind} {Namespace}/{Name}: {Key} (event {EventId}, generation {Generation}) accepted for node {Node}: {Why}.",
            obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name, key, eventId, generation, node, why);
        await _events.RecordAsync(accepted, EventTypes.Normal, "LifecycleAccepted", $"{key} (event {eventId ?? "none"}) accepted for node {node} ({why}).", ct)
            .ConfigureAwait(false);
        if (!live)
        {
            await _events.RecordAsync(accepted, EventTypes.Warning, ProblemReasons.NodeUnreachable, $"{key} (event {eventId ?? "none"}): {unreachable}", ct)
                .ConfigureAwait(false);
        }

        return WorkResult.After(_options.LivenessCheckPeriod);
    }

    private string UnreachableMessage(string node, NodeInfo? info, DateTimeOffset now) => info?.RenewTime is { } renewed
        ? $"The KubeStack agent on node {node} has not renewed its Lease for {(now - renewed).TotalSeconds:0}s (timeout {_options.NodeTimeout.TotalSeconds:0}s); the request waits for that node and is not moved elsewhere (delete the object or submit it with another spec.nodeName to run it elsewhere)."
        : $"No KubeStack agent has reported from node {node} (no Lease {AgentLeases.LeaseName(node)}); the request waits for that node and is not moved elsewhere (check the node name and the agent DaemonSet).";

    /// <summary>An Accepted request the agent has not started: keep NodeReachable true to the node's Lease.</summary>
    private async Task<WorkResult> CheckLivenessAsync(KubeStackResource obj, CancellationToken ct)
    {
        var node = RequestChecks.NodeOf(obj);
        if (node is null)
        {
            return WorkResult.Done;
        }

        var nodes = await _nodes.NodesAsync(ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var info = nodes.FirstOrDefault(n => n.Name == node);
        var live = info is not null && info.IsLive(now, _options.NodeTimeout);
        var reachable = obj.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.NodeReachable);
        if ((reachable?.Status == "True") == live)
        {
            return WorkResult.After(_options.LivenessCheckPeriod);
        }

        var generation = obj.Metadata.Generation ?? 0;
        var message = live ? $"The agent on node {node} is live again." : UnreachableMessage(node, info, now);
        var update = await _resourceClients[obj.Kind].UpdateStatusAsync(obj.Metadata.NamespaceProperty!, obj.Metadata.Name!, latest =>
        {
            var record = latest.Status?.Lifecycle;
            if (record is null || record.Generation != generation || record.Phase != RequestPhase.Accepted)
            {
                return false; // the agent started it meanwhile
            }

            record.Reason = live ? AcceptedReason : ProblemReasons.NodeUnreachable;
            record.Message = live ? $"{record.Key} accepted for node {node}." : $"{record.Key} accepted for node {node}. {message}";
            SetCondition(latest.Status!, ConditionTypes.NodeReachable, live ? "True" : "False",
                live ? NodeReachableReason : ProblemReasons.NodeUnreachable, message, generation, now);
            return true;
        }, ct).ConfigureAwait(false);
        if (update.Written && update.Object is { } written)
        {
            written.Kind = obj.Kind;
            _logger.LogWarning("{Kind} {Namespace}/{Name}: {Message}", obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name, message);
            await _events.RecordAsync(written, live ? EventTypes.Normal : EventTypes.Warning, live ? NodeReachableReason : ProblemReasons.NodeUnreachable,
                $"{obj.Spec.LifecycleKey} (event {EventIdOf(obj) ?? "none"}): {message}", ct).ConfigureAwait(false);
        }

        return WorkResult.After(_options.LivenessCheckPeriod);
    }

    /// <summary>Ends a request the operator refuses: Failed in status, Warning Event, spec.lifecycle removed with the seed's spec.status.</summary>
    private async Task FailAsync(KubeStackResource obj, RequestProblem problem, CancellationToken ct)
    {
        var key = obj.Spec.LifecycleKey ?? string.Join(",", obj.Spec.Lifecycle!.Select(p => p.Key));
        var generation = obj.Metadata.Generation ?? 0;
        var eventId = EventIdOf(obj);
        var now = _time.GetUtcNow();
        var client = _resourceClients[obj.Kind];
        var message = problem.Message.Length <= 1024 ? problem.Message : problem.Message[..1021] + "...";
        var update = await client.UpdateStatusAsync(obj.Metadata.NamespaceProperty!, obj.Metadata.Name!, latest =>
        {
            if (latest.Metadata.Generation != generation || latest.Status?.Lifecycle?.Generation == generation || latest.Metadata.DeletionTimestamp is not null)
            {
                return false;
            }

            var status = latest.Status ??= new KubeStackStatus();
            status.Lifecycle = new LifecycleRecord
            {
                Key = key,
                EventId = eventId,
                Phase = RequestPhase.Failed,
                Reason = problem.Reason,
                Message = message,
                StartTime = now,
                CompletionTime = now,
                Attempts = 0,
                Generation = generation,
            };
            status.ObservedGeneration = generation;
            SetCondition(status, ConditionTypes.Ready, "False", problem.Reason, message, generation, now);
            return true;
        }, ct).ConfigureAwait(false);
        if (!update.Written || update.Object is not { } failed)
        {
            return;
        }

        failed.Kind = obj.Kind;
        OperatorTelemetry.RoutingDecisions.Add(1, new("kind", obj.Kind), new("operation", key), new("decision", "refused"), new("reason", problem.Reason));
        _logger.LogWarning("{Kind} {Namespace}/{Name}: {Key} (event {EventId}) refused: {Reason}: {Message}",
            obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name, key, eventId, problem.Reason, message);
        await _events.RecordAsync(failed, EventTypes.Warning, problem.Reason, $"{key} (event {eventId ?? "none"}): {message}", ct).ConfigureAwait(false);

        // The request ended: remove spec.lifecycle (clients wait for that) and give the seed's view of the failure,
        // conditional on the object not having changed since the status write.
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = failed.Metadata.ResourceVersion },
            ["spec"] = new JsonObject
            {
                ["lifecycle"] = null,
                ["status"] = new JsonObject
                {
                    ["kind"] = "Status",
                    ["apiVersion"] = "v1",
                    ["status"] = "Failure",
                    ["code"] = problem.Reason == ProblemReasons.NotFound ? 404 : problem.Reason is ProblemReasons.AlreadyExists or ProblemReasons.RequestInProgress ? 409 : 400,
                    ["reason"] = problem.Reason,
                    ["message"] = message,
                    ["details"] = new JsonObject { ["name"] = obj.Metadata.Name, ["kind"] = obj.Kind },
                    ["conditions"] = new JsonObject
                    {
                        ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = problem.Reason, ["message"] = message } },
                    },
                },
            },
        };
        try
        {
            await client.PatchAsync(obj.Metadata.NamespaceProperty!, obj.Metadata.Name!, patch, ct).ConfigureAwait(false);
        }
        catch (KubeApiException ex) when (ex.IsConflict || ex.IsNotFound)
        {
            // A newer request was submitted meanwhile (it is handled on its own), or the object is gone.
        }
    }

    private static string? EventIdOf(KubeStackResource obj)
    {
        var labels = obj.Metadata.Labels;
        return labels is null ? null
            : labels.TryGetValue(Labels.EventId, out var id) && !string.IsNullOrEmpty(id) ? id
            : labels.TryGetValue(Labels.LegacyEventId, out var legacy) && !string.IsNullOrEmpty(legacy) ? legacy
            : null;
    }

    private static void SetCondition(KubeStackStatus status, string type, string value, string reason, string message, long generation, DateTimeOffset now)
    {
        var conditions = status.Conditions ??= [];
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            conditions.Add(new ResourceCondition { Type = type, Status = value, Reason = reason, Message = message, LastTransitionTime = now, ObservedGeneration = generation });
            return;
        }

        if (existing.Status != value)
        {
            existing.LastTransitionTime = now;
        }

        existing.Status = value;
        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = generation;
    }
}
