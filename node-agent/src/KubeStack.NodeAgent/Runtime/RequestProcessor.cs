using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Status;
using KubeStack.NodeAgent.Observability;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Observability;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Runtime;

/// <summary>Settings of the request runtime.</summary>
public sealed class RequestRuntimeOptions
{
    /// <summary>This node: objects labelled <c>host=&lt;NodeName&gt;</c> are ours.</summary>
    public required string NodeName { get; init; }

    /// <summary>
    /// How many times one submission may be started (crash resumes and retryable failures count) before it is
    /// failed for good: stops a handler that crashes the agent from crash-looping it forever.
    /// </summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>
    /// Judge every new request with the admission webhook's checks (RequestValidator) before claiming it, and fail the
    /// ones it rejects (VirtctlError, naming the fields) without running a handler: a request written while the webhook
    /// was down must not reach the host. The agent host turns this on; in-process harnesses with model handlers leave it off.
    /// </summary>
    public bool CheckAdmission { get; init; }
}

/// <summary>
/// The request state machine of architecture §1.2, run for one object at a time by the work queue.
/// <para>
/// A request is the single key under <c>spec.lifecycle</c>; one submission is identified by (key,
/// <c>metadata.generation</c>) and recorded in <c>status.lifecycle</c>. Writes, in order, and what a crash after each
/// leaves for the next run:
/// </para>
/// <list type="number">
/// <item>(create operations only) add finalizer <c>doslab.io/host-cleanup</c>, so a delete during the create cannot
/// orphan what it makes on the host;</item>
/// <item>claim: status.lifecycle = {key, eventId, phase Running, attempts+1, generation} — a crash after it leaves a
/// Running record of this generation, and the next run resumes the (idempotent, probing) handler; it is never started
/// twice in parallel because one object is only ever in one worker;</item>
/// <item>the handler runs (host side effects);</item>
/// <item>outcome in status: phase Succeeded/Failed, reason, message, completionTime, Ready, observedGeneration — a crash
/// after it leaves a finished record whose lifecycle is still in spec: the next run only does step 5;</item>
/// <item>one conditional merge patch of spec: the seed's view (spec.status, result view, powerstate) and the removal
/// of spec.lifecycle. It is conditional on the resourceVersion read in step 4; on 409 the latest object is read again,
/// and a lifecycle that is no longer the one that ran (a new request) is kept.</item>
/// </list>
/// <para>
/// So a request costs 3 writes (claim, status, spec), 4 for creates (finalizer first) and 2 when it fails before a
/// handler runs. Delete operations end by removing the finalizer and deleting the object instead of steps 4–5.
/// Events: LifecycleStarted after the claim (written while the handler runs), LifecycleSucceeded or a Warning (reason =
/// error class) after it, written while the outcome goes into status; both are written before the spec patch, so a crash
/// never loses them, and their names are fixed per submission (<see cref="LifecycleEvents.NameOf"/>), so a rerun after
/// a crash finds them instead of doubling them.
/// </para>
/// <para>
/// Reads: a new submission is claimed from the informer's copy (<see cref="UseCache"/>), so the hot path is the three
/// writes and no GET; everything else (resumes, deletions, records already written) starts from a GET.
/// </para>
/// </summary>
public sealed partial class RequestProcessor
{
    /// <summary>Traces: one Activity per processed request ("lifecycle &lt;key&gt;"), tagged with kind, object, node and event ID.</summary>
    public static readonly ActivitySource ActivitySource = new("KubeStack.NodeAgent.Requests");

    private readonly IObjectApi _api;
    private readonly HandlerRegistry _registry;
    private readonly LifecycleCatalog _catalog;
    private readonly LifecycleEvents _events;
    private readonly RequestRuntimeOptions _options;
    private readonly ICrashInjector _crash;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Requests this process claimed whose handler asked to be called again later (no new claim needed).</summary>
    private readonly ConcurrentDictionary<ResourceKey, long> _continuing = new();

    /// <summary>Keys whose last run started from the cache and did not get its claim written: the next run reads the API.</summary>
    private readonly ConcurrentDictionary<ResourceKey, byte> _readFresh = new();

    private Func<ResourceKey, KubeStackResource?>? _cache;

    public RequestProcessor(IObjectApi api, HandlerRegistry registry, LifecycleCatalog catalog, LifecycleEvents events,
        RequestRuntimeOptions options, ILogger<RequestProcessor> logger, ICrashInjector? crash = null, TimeProvider? time = null)
    {
        _api = api ?? throw new ArgumentNullException(nameof(api));
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _crash = crash ?? NoCrashInjector.Instance;
        _time = time ?? TimeProvider.System;
    }

    private string Node => _options.NodeName;

    /// <summary>
    /// Lets a run start from the informer's copy of the object instead of a GET, for the one case on the hot path: a new
    /// submission to claim. The claim is a status write conditional on that copy's resourceVersion and re-decided on the
    /// latest object after a 409, so a stale copy costs a round trip, never a wrong claim; every other case reads the API.
    /// </summary>
    public void UseCache(Func<ResourceKey, KubeStackResource?> lookup) => _cache = lookup ?? throw new ArgumentNullException(nameof(lookup));

    /// <summary>Processes the object behind <paramref name="key"/>: request, deletion, or nothing.</summary>
    public async Task<WorkResult> ProcessAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var obj = NewSubmissionFromCache(key);
        var fromCache = obj is not null;
        obj ??= await _api.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (obj is null)
        {
            _continuing.TryRemove(key, out _);
            _readFresh.TryRemove(key, out _);
            return WorkResult.Done;
        }

        // "LifecycleEventId" because "EventId" is the logging framework's own property (the log event's id).
        using var scope = _logger.BeginScope(new Dictionary<string, object?>
        {
            ["Kind"] = key.Kind,
            ["Namespace"] = key.Namespace,
            ["Name"] = key.Name,
            ["Node"] = Node,
            ["Operation"] = obj.Spec.LifecycleKey,
            ["LifecycleEventId"] = RequestRecords.EventIdOf(obj),
        });

        if (!IsMine(obj))
        {
            LogNotOurs(key, obj.Metadata.Labels is { } labels && labels.TryGetValue(Labels.Host, out var host) ? host : null);
            return WorkResult.Done;
        }

        if (obj.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeDeletionAsync(key, obj, cancellationToken).ConfigureAwait(false);
        }

        if (obj.Spec.Lifecycle is null)
        {
            return WorkResult.Done;
        }

        // One trace per request across webhook, operator and agent (KubeStack.Runtime.Observability.RequestTrace).
        var parent = RequestTrace.ParentOf(key.Kind, key.Namespace, key.Name, obj.Spec.LifecycleKey, RequestRecords.EventIdOf(obj), obj.Metadata.Annotations);
        using var activity = ActivitySource.StartActivity($"lifecycle {obj.Spec.LifecycleKey ?? "(invalid)"}", ActivityKind.Consumer, parent);
        using var traceScope = activity is null ? null : _logger.BeginScope(new Dictionary<string, object?> { ["TraceId"] = activity.TraceId.ToHexString() });
        using var inFlight = AgentMetrics.Running(key.Kind, obj.Spec.LifecycleKey ?? "(invalid)");
        activity?.SetTag("kubestack.kind", key.Kind);
        activity?.SetTag("kubestack.namespace", key.Namespace);
        activity?.SetTag("kubestack.name", key.Name);
        activity?.SetTag("kubestack.node", Node);
        activity?.SetTag("kubestack.event_id", RequestRecords.EventIdOf(obj));
        activity?.SetTag("kubestack.generation", obj.Metadata.Generation);
        activity?.SetTag("kubestack.from_cache", fromCache);
        var result = await ProcessRequestAsync(key, obj, fromCache, cancellationToken).ConfigureAwait(false);
        activity?.SetTag("kubestack.result", result.Kind.ToString());
        return result;
    }

    /// <summary>
    /// What the validating webhook would say about the request (<see cref="RequestValidator"/>), as one message naming the
    /// broken fields and rules (at most three; secrets are never quoted by the validator); null when it is valid.
    /// </summary>
    private string? Inadmissible(KubeStackResource obj, ResourceKey key, JsonObject lifecycle)
    {
        var spec = new JsonObject { ["lifecycle"] = lifecycle.DeepClone() };
        if (obj.Spec.NodeName is { } nodeName)
        {
            spec["nodeName"] = nodeName;
        }

        var errors = RequestValidator.Validate(obj.Kind, key.Name, spec, _catalog);
        if (errors.Count == 0)
        {
            return null;
        }

        var more = errors.Count > 3 ? $" ({errors.Count - 3} more problems not shown.)" : "";
        return $"Refused on node {Node} before touching the host (the request did not pass admission; was the webhook down?): " +
               string.Join(" ", errors.Take(3).Select(e => e.Message)) + more;
    }

    /// <summary>
    /// A copy of the cached object when it carries a new submission for this node that goes straight to its claim (one
    /// implemented operation with an object of parameters, no record of this generation, not being deleted, no finalizer
    /// to add first) and the key's last run did not end in doubt; else null (read the API).
    /// </summary>
    private KubeStackResource? NewSubmissionFromCache(ResourceKey key)
    {
        if (_cache is null || _readFresh.ContainsKey(key) || _cache(key) is not { } cached)
        {
            return null;
        }

        if (!IsMine(cached) || cached.Metadata.DeletionTimestamp is not null || cached.Spec.Lifecycle is not { Count: 1 } lifecycle
            || cached.Status?.Lifecycle?.Generation == cached.Metadata.Generation)
        {
            return null;
        }

        var (opKey, parameters) = lifecycle.First();
        if (parameters is not (JsonObject or null) || _catalog.Find(cached.Kind, opKey) is not { } operation || _registry.Find(cached.Kind, opKey) is null
            || (operation.Effect == OperationEffect.Create && !HasFinalizer(cached)))
        {
            return null;
        }

        _readFresh[key] = 0; // until the claim is written
        return KubernetesJson.Deserialize<KubeStackResource>(KubernetesJson.Serialize(cached));
    }

    private bool IsMine(KubeStackResource obj) =>
        obj.Metadata.Labels?.TryGetValue(Labels.Host, out var host) == true && host == Node;

    private async Task<WorkResult> ProcessRequestAsync(ResourceKey key, KubeStackResource obj, bool fromCache, CancellationToken ct)
    {
        var lifecycle = obj.Spec.Lifecycle!;
        var generation = obj.Metadata.Generation ?? 0;
        var eventId = RequestRecords.EventIdOf(obj);
        if (lifecycle.Count != 1)
        {
            var keys = lifecycle.Count == 0 ? "none" : string.Join(", ", lifecycle.Select(p => p.Key));
            var invalid = new RequestIdentity(string.Join(",", lifecycle.Select(p => p.Key)), eventId, generation);
            return await CompleteAsync(key, obj, invalid, null, lifecycle, RequestOutcome.Failure(ErrorClasses.VirtctlError,
                $"spec.lifecycle must hold exactly one operation key; found {lifecycle.Count} ({keys}) on {obj.Kind} {key.Namespace}/{key.Name}."), ct)
                .ConfigureAwait(false);
        }

        var (opKey, parametersNode) = lifecycle.First();
        var request = new RequestIdentity(opKey, eventId, generation);
        var record = obj.Status?.Lifecycle;
        var sameSubmission = RequestRecords.IsSameSubmission(record, request);
        var operation = _catalog.Find(obj.Kind, opKey);

        if (sameSubmission && record!.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
        {
            // The outcome is recorded but spec was not patched (crash, or a lost race): finish the spec side only.
            return await FinishAfterRestartAsync(key, obj, request, operation, record, lifecycle, ct).ConfigureAwait(false);
        }

        if (operation is null)
        {
            return await CompleteAsync(key, obj, request, null, lifecycle, RequestOutcome.Failure(ErrorClasses.VirtctlError,
                $"Operation {opKey} does not exist for kind {obj.Kind}; see the lifecycle catalog for the operations of {obj.Kind}."), ct)
                .ConfigureAwait(false);
        }

        if (parametersNode is not (JsonObject or null))
        {
            return await CompleteAsync(key, obj, request, operation, lifecycle, RequestOutcome.Failure(ErrorClasses.VirtctlError,
                $"spec.lifecycle.{opKey} must be an object of parameters, not a {parametersNode.GetValueKind()}."), ct).ConfigureAwait(false);
        }

        // Admission again (the webhook's checks, pure): a request written while the webhook was down, or past an older
        // CRD schema, must not reach the host. A resumed attempt of a request this agent already claimed is not re-judged.
        if (_options.CheckAdmission && !(sameSubmission && record!.Phase == RequestPhase.Running) && Inadmissible(obj, key, lifecycle) is { } refusal)
        {
            return await CompleteAsync(key, obj, request, operation, lifecycle, RequestOutcome.Failure(ErrorClasses.VirtctlError, refusal), ct)
                .ConfigureAwait(false);
        }

        var handler = _registry.Find(obj.Kind, opKey);
        if (handler is null)
        {
            return await CompleteAsync(key, obj, request, operation, lifecycle, RequestOutcome.Failure(ErrorClasses.VirtctlError,
                $"Operation {opKey} of {obj.Kind} is not implemented on node {Node} yet."), ct).ConfigureAwait(false);
        }

        var continuing = sameSubmission && record!.Phase == RequestPhase.Running
            && _continuing.TryGetValue(key, out var continuingGeneration) && continuingGeneration == generation;
        _continuing.TryRemove(key, out _);

        KubeStackResource claimed;
        var startedEvent = Task.CompletedTask;
        if (continuing)
        {
            claimed = obj;
        }
        else
        {
            if (sameSubmission && record!.Phase == RequestPhase.Running && record.Attempts >= _options.MaxAttempts)
            {
                return await CompleteAsync(key, obj, request, operation, lifecycle, FailedCreate.GaveUp(operation, parametersNode,
                    RequestOutcome.Failure(ErrorClasses.Exception,
                    $"{opKey} was started {record.Attempts} times on node {Node} without finishing; giving up. " +
                    "Check the agent's log for crashes or errors, then submit the request again.")), ct).ConfigureAwait(false);
            }

            if (operation.Effect == OperationEffect.Create && !HasFinalizer(obj))
            {
                obj = await _api.PatchAsync(key, SeedView.BuildFinalizerPatch(obj, [.. Finalizers(obj), Contracts.Resources.Finalizers.HostCleanup]), ct)
                    .ConfigureAwait(false);
            }

            var now = _time.GetUtcNow();
            var decidedOn = obj;
            var update = await _api.UpdateStatusAsync(key, latest =>
            {
                // Claim only the request we decided on: a newer spec or a deletion is handled by the next run.
                if (latest.Metadata.Generation != generation || latest.Spec.LifecycleKey != opKey || latest.Metadata.DeletionTimestamp is not null)
                {
                    return false;
                }

                // Decided on the cache, the latest object says more (a record of this submission, another node): the
                // next run decides again from the API.
                if (fromCache && !ReferenceEquals(latest, decidedOn)
                    && (RequestRecords.IsSameSubmission(latest.Status?.Lifecycle, request) || !IsMine(latest)))
                {
                    return false;
                }

                RequestRecords.ApplyClaim(latest, request, Node, now);
                return true;
            }, obj, ct).ConfigureAwait(false);
            if (update.Object is null)
            {
                return WorkResult.Done;
            }

            if (!update.Written)
            {
                return WorkResult.After(TimeSpan.Zero);
            }

            claimed = update.Object;
            _readFresh.TryRemove(key, out _);
            LogClaimed(key, opKey, claimed.Status!.Lifecycle!.Attempts, generation);
            _crash.At(CrashPoints.AfterClaim);
            // The Started Event is written while the handler works; it is awaited before the outcome Event (order) and
            // before this run ends.
            startedEvent = _events.StartedAsync(claimed, request, claimed.Status.Lifecycle.Attempts, ct);
        }

        var attempt = Math.Max(1, claimed.Status?.Lifecycle?.Attempts ?? 1);
        var context = new RequestContext
        {
            Object = claimed,
            Operation = operation,
            Parameters = parametersNode is JsonObject p ? (JsonObject)p.DeepClone() : [],
            NodeName = Node,
            EventId = eventId,
            Attempt = attempt,
            Logger = _logger,
        };

        HandlerResult result;
        try
        {
            result = await handler.HandleAsync(context, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the Running record stays, the next start resumes the request.
            throw;
        }
        catch (Exception ex)
        {
            LogHandlerException(ex, key, opKey);
            result = HandlerResult.Failed(ErrorClasses.Exception,
                $"{opKey} failed unexpectedly on node {Node}: {ex.GetType().Name}: {ex.Message}");
        }

        _crash.At(CrashPoints.AfterHostCall);

        RequestOutcome outcome;
        switch (result)
        {
            case HandlerResult.Requeue requeue:
                await startedEvent.ConfigureAwait(false);
                _continuing[key] = generation;
                LogRequeue(key, opKey, requeue.Delay, requeue.Message);
                return WorkResult.After(requeue.Delay);
            case HandlerResult.Failure { Retryable: true } failure when attempt < _options.MaxAttempts:
                await startedEvent.ConfigureAwait(false);
                LogRetryableFailure(key, opKey, attempt, failure.ErrorClass, failure.Message);
                return WorkResult.Retry;
            case HandlerResult.Failure { Retryable: true } failure:
                // The budget is spent: an earlier attempt may have made the effect before its reply was lost.
                outcome = FailedCreate.GaveUp(operation, parametersNode, RequestOutcome.Failure(failure.ErrorClass,
                    $"{failure.Message} {opKey} failed after {attempt} attempt{(attempt == 1 ? string.Empty : "s")} on node {Node}; the agent gave up. " +
                    "Fix the cause (see the message and the agent's log), then submit the request again."));
                break;
            case HandlerResult.Failure failure:
                outcome = RequestOutcome.Failure(failure.ErrorClass, failure.Message);
                break;
            case HandlerResult.Success success:
                outcome = SuccessOutcome(key, opKey, success);
                break;
            default:
                throw new InvalidOperationException($"Unknown handler result {result.GetType().Name}.");
        }

        if (operation.Effect == OperationEffect.Delete && outcome.Succeeded)
        {
            await startedEvent.ConfigureAwait(false);
            return await CompleteDeleteAsync(key, claimed, request, outcome, ct).ConfigureAwait(false);
        }

        return await CompleteAsync(key, claimed, request, operation, lifecycle, outcome, ct, startedEvent).ConfigureAwait(false);
    }

    private RequestOutcome SuccessOutcome(ResourceKey key, string opKey, HandlerResult.Success success)
    {
        var message = success.Message ?? $"{opKey} succeeded on node {Node}.";
        var view = success.View;
        var size = SeedView.SizeOf(view);
        if (size > SeedView.MaxViewBytes)
        {
            LogViewTooLarge(key, opKey, size);
            view = null;
            message += $" The observed view ({size} bytes) exceeds the {SeedView.MaxViewBytes}-byte bound and was not written.";
        }

        return RequestOutcome.Success(message, view, success.PowerState, success.ExtraSpec) with { MovedToNode = success.MovedToNode };
    }

    /// <summary>
    /// Steps 4 and 5: outcome into status, outcome Event, then the spec patch. After a claim (<paramref name="startedEvent"/>
    /// given) the outcome Event is written while the status write is in flight, after the Started Event; both Events are
    /// written before the spec patch ends the request, so a crash never loses them (their fixed names keep a rerun from
    /// doubling them).
    /// </summary>
    private async Task<WorkResult> CompleteAsync(ResourceKey key, KubeStackResource obj, RequestIdentity request, OperationSpec? operation,
        JsonObject ranLifecycle, RequestOutcome outcome, CancellationToken ct, Task? startedEvent = null)
    {
        using var write = ActivitySource.StartActivity("status write");
        var now = _time.GetUtcNow();
        var uid = obj.Metadata.Uid;
        var claim = obj.Status?.Lifecycle;
        var outcomeEvent = startedEvent is not null && RequestRecords.IsSameSubmission(claim, request) && claim!.Phase == RequestPhase.Running
            ? OutcomeEventAfterAsync(startedEvent, obj, request, outcome, Duration(claim, now), ct)
            : null;
        var update = await _api.UpdateStatusAsync(key, latest =>
        {
            if (latest.Metadata.Uid != uid)
            {
                return false;
            }

            RequestRecords.ApplyOutcome(latest, request, outcome, Node, now);
            return true;
        }, obj, ct).ConfigureAwait(false);
        if (update.Object is null || !update.Written)
        {
            await (outcomeEvent ?? startedEvent ?? Task.CompletedTask).ConfigureAwait(false);
            LogObjectGone(key, request.Key);
            return WorkResult.Done;
        }

        LogOutcome(key, request.Key, outcome.Succeeded ? RequestPhase.Succeeded : RequestPhase.Failed, outcome.Reason, outcome.Message);
        AgentMetrics.RequestFinished(key.Kind, request.Key, outcome.Succeeded, outcome.Reason, Duration(update.Object.Status?.Lifecycle));
        _crash.At(CrashPoints.AfterStatus);
        await (outcomeEvent ?? OutcomeEventAfterAsync(startedEvent, update.Object, request, outcome, Duration(update.Object.Status?.Lifecycle), ct))
            .ConfigureAwait(false);
        await FinishSpecAsync(key, update.Object, request, operation, ranLifecycle, outcome, ct).ConfigureAwait(false);
        return WorkResult.Done;
    }

    private async Task OutcomeEventAfterAsync(Task? startedEvent, KubeStackResource obj, RequestIdentity request, RequestOutcome outcome,
        TimeSpan? duration, CancellationToken ct)
    {
        if (startedEvent is not null)
        {
            await startedEvent.ConfigureAwait(false);
        }

        await _events.OutcomeAsync(obj, request, outcome, duration, ct).ConfigureAwait(false);
    }

    /// <summary>After a restart: the record says the request ended, spec still carries it. Write the seed view, remove it.</summary>
    private async Task<WorkResult> FinishAfterRestartAsync(ResourceKey key, KubeStackResource obj, RequestIdentity request,
        OperationSpec? operation, LifecycleRecord record, JsonObject lifecycle, CancellationToken ct)
    {
        RequestOutcome outcome;
        if (record.Phase == RequestPhase.Succeeded)
        {
            var observed = await ReadObservedAsync(obj, ct).ConfigureAwait(false);
            outcome = RequestOutcome.Success(record.Message ?? $"{request.Key} succeeded on node {Node}.", observed?.View, observed?.PowerState);
            if (obj.Status?.NodeName is { Length: > 0 } owner && owner != Node)
            {
                // a migration recorded the new owner in status before the crash: finish the hand-over (label, spec.nodeName)
                outcome = outcome with { MovedToNode = owner, View = null };
            }
        }
        else
        {
            outcome = RequestOutcome.Failure(record.Reason ?? ErrorClasses.Exception, record.Message ?? $"{request.Key} failed on node {Node}.");
        }

        if (operation?.Effect == OperationEffect.Delete && outcome.Succeeded)
        {
            return await CompleteDeleteAsync(key, obj, request, outcome, ct).ConfigureAwait(false);
        }

        await _events.OutcomeAsync(obj, request, outcome, Duration(record), ct).ConfigureAwait(false);
        await FinishSpecAsync(key, obj, request, operation, lifecycle, outcome, ct).ConfigureAwait(false);
        return WorkResult.Done;
    }

    private async Task<ObservedState?> ReadObservedAsync(KubeStackResource obj, CancellationToken ct)
    {
        if (_registry.Reader(obj.Kind) is not { } reader)
        {
            return null;
        }

        try
        {
            return await reader.ReadAsync(obj, Node, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReaderFailed(ex, obj.Kind);
            return null;
        }
    }

    /// <summary>Step 5: one conditional merge patch of spec; on 409 re-read and re-decide.</summary>
    private async Task FinishSpecAsync(ResourceKey key, KubeStackResource current, RequestIdentity request, OperationSpec? operation,
        JsonObject ranLifecycle, RequestOutcome outcome, CancellationToken ct)
    {
        var resultKey = _catalog.Kinds.FirstOrDefault(k => k.Kind == current.Kind)?.ResultKey ?? "data";
        for (var attempt = 1; ; attempt++)
        {
            var removeLifecycle = current.Spec.Lifecycle is not null && IsStillTheRequestThatRan(current, request, ranLifecycle);
            IReadOnlyList<string>? finalizers = operation?.Effect == OperationEffect.Create && outcome.Succeeded && !HasFinalizer(current)
                ? [.. Finalizers(current), Contracts.Resources.Finalizers.HostCleanup]
                : null;
            var patch = SeedView.BuildSpecPatch(current, outcome, resultKey, removeLifecycle, finalizers);
            try
            {
                await _api.PatchAsync(key, patch, ct).ConfigureAwait(false);
                if (!removeLifecycle && current.Spec.Lifecycle is not null)
                {
                    LogNewerRequestKept(key, request.Key, current.Spec.LifecycleKey);
                }

                _crash.At(CrashPoints.AfterSpec);
                return;
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < 8)
            {
                current = await _api.GetAsync(key, ct).ConfigureAwait(false) ?? throw new KubeApiException(
                    System.Net.HttpStatusCode.NotFound, "NotFound", $"{key} disappeared while its outcome was being written.");
            }
            catch (KubeApiException ex) when (ex.IsNotFound)
            {
                LogObjectGone(key, request.Key);
                return;
            }
        }
    }

    /// <summary>
    /// True when spec.lifecycle still carries the submission that ran: same generation, or (spec edited meanwhile)
    /// the very same key, parameters and event ID.
    /// </summary>
    private static bool IsStillTheRequestThatRan(KubeStackResource current, RequestIdentity request, JsonObject ranLifecycle)
    {
        if (current.Metadata.Generation == request.Generation)
        {
            return true;
        }

        return JsonNode.DeepEquals(current.Spec.Lifecycle, ranLifecycle) && RequestRecords.EventIdOf(current) == request.EventId;
    }

    /// <summary>
    /// A delete operation succeeded: Event, drop our finalizer, delete the object. The Event is written while the
    /// finalizer patch is in flight and is in place before the object is deleted (its name is fixed per submission, so a
    /// rerun after a crash does not double it).
    /// </summary>
    private async Task<WorkResult> CompleteDeleteAsync(ResourceKey key, KubeStackResource obj, RequestIdentity request, RequestOutcome outcome,
        CancellationToken ct)
    {
        using var write = ActivitySource.StartActivity("status write");
        LogOutcome(key, request.Key, RequestPhase.Succeeded, outcome.Reason, outcome.Message);
        AgentMetrics.RequestFinished(key.Kind, request.Key, true, null, Duration(obj.Status?.Lifecycle, _time.GetUtcNow()));
        var outcomeEvent = _events.OutcomeAsync(obj, request, outcome, Duration(obj.Status?.Lifecycle, _time.GetUtcNow()), ct);
        var finalizerRemoved = await RemoveFinalizerAsync(key, obj, ct).ConfigureAwait(false);
        await outcomeEvent.ConfigureAwait(false);
        if (!finalizerRemoved)
        {
            return WorkResult.Done;
        }

        _crash.At(CrashPoints.AfterSpec);
        await _api.DeleteAsync(key, obj.Metadata.Uid, ct).ConfigureAwait(false);
        return WorkResult.Done;
    }

    /// <summary>kubectl delete: clean up the host side through the kind's cleanup, then let the object go.</summary>
    private async Task<WorkResult> FinalizeDeletionAsync(ResourceKey key, KubeStackResource obj, CancellationToken ct)
    {
        if (!HasFinalizer(obj))
        {
            return WorkResult.Done;
        }

        HandlerResult result;
        var cleanup = _registry.Cleanup(obj.Kind);
        if (cleanup is null)
        {
            result = HandlerResult.Succeeded(message:
                $"No host cleanup is implemented for {obj.Kind} on node {Node}; the finalizer was removed without touching the host.");
        }
        else
        {
            try
            {
                result = await cleanup.CleanupAsync(new CleanupContext { Object = obj, NodeName = Node, Logger = _logger }, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                LogHandlerException(ex, key, "cleanup");
                result = HandlerResult.Failed(ErrorClasses.Exception, $"{ex.GetType().Name}: {ex.Message}", retryable: true);
            }
        }

        switch (result)
        {
            case HandlerResult.Requeue requeue:
                return WorkResult.After(requeue.Delay);
            case HandlerResult.Failure failure:
                await _events.CleanupFailedAsync(obj, failure.ErrorClass,
                    $"Cleaning up the host side of {obj.Kind} {key.Namespace}/{key.Name} on node {Node} failed: {failure.Message} " +
                    $"The finalizer {Contracts.Resources.Finalizers.HostCleanup} stays until cleanup succeeds (docs/operations.md tells how to force it).",
                    ct).ConfigureAwait(false);
                return WorkResult.Retry;
            case HandlerResult.Success success:
                // The Event goes first: once the finalizer is gone the object may vanish at once.
                await _events.CleanedUpAsync(obj, success.Message ?? $"The host side of {obj.Kind} {key.Namespace}/{key.Name} was cleaned up on node {Node}.", ct)
                    .ConfigureAwait(false);
                await RemoveFinalizerAsync(key, obj, ct).ConfigureAwait(false);
                return WorkResult.Done;
            default:
                throw new InvalidOperationException($"Unknown cleanup result {result.GetType().Name}.");
        }
    }

    /// <summary>Removes our finalizer with a conditional patch (re-read on 409). False when the object is gone.</summary>
    private async Task<bool> RemoveFinalizerAsync(ResourceKey key, KubeStackResource current, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (!HasFinalizer(current))
            {
                return true;
            }

            var remaining = Finalizers(current).Where(f => f != Contracts.Resources.Finalizers.HostCleanup).ToList();
            try
            {
                await _api.PatchAsync(key, SeedView.BuildFinalizerPatch(current, remaining), ct).ConfigureAwait(false);
                return true;
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < 8)
            {
                var latest = await _api.GetAsync(key, ct).ConfigureAwait(false);
                if (latest is null)
                {
                    return false;
                }

                current = latest;
            }
            catch (KubeApiException ex) when (ex.IsNotFound)
            {
                return false;
            }
        }
    }

    private static IEnumerable<string> Finalizers(KubeStackResource obj) => obj.Metadata.Finalizers ?? [];

    private static bool HasFinalizer(KubeStackResource obj) => Finalizers(obj).Contains(Contracts.Resources.Finalizers.HostCleanup);

    private static TimeSpan? Duration(LifecycleRecord? record, DateTimeOffset? end = null) =>
        record?.StartTime is { } start && (end ?? record.CompletionTime) is { } stop && stop >= start ? stop - start : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: claimed {Operation} (attempt {Attempt}, generation {Generation}).")]
    private partial void LogClaimed(ResourceKey key, string operation, int attempt, long generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: {Operation} ended {Phase}: {Reason}: {Message}")]
    private partial void LogOutcome(ResourceKey key, string operation, RequestPhase phase, string reason, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Key}: the handler of {Operation} threw.")]
    private partial void LogHandlerException(Exception exception, ResourceKey key, string operation);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: {Operation} is not finished; running it again in {Delay}: {Message}")]
    private partial void LogRequeue(ResourceKey key, string operation, TimeSpan delay, string? message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Operation} attempt {Attempt} failed with {ErrorClass} (retryable): {Message}")]
    private partial void LogRetryableFailure(ResourceKey key, string operation, int attempt, string errorClass, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Key}: {Operation}: the observed view is {Size} bytes, over the bound; not written.")]
    private partial void LogViewTooLarge(ResourceKey key, string operation, int size);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: {Operation}: the object was deleted while its request ran; nothing more to write.")]
    private partial void LogObjectGone(ResourceKey key, string operation);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Key}: {Operation} ended, but spec.lifecycle now holds a newer request ({Newer}); it stays for the next run.")]
    private partial void LogNewerRequestKept(ResourceKey key, string operation, string? newer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the observed state of a {Kind} failed; the seed view is left as it is.")]
    private partial void LogReaderFailed(Exception exception, string kind);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Key} belongs to node {Host}, not this one; ignored.")]
    private partial void LogNotOurs(ResourceKey key, string? host);
}
