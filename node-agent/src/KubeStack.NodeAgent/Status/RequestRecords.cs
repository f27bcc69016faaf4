using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;

namespace KubeStack.NodeAgent.Status;

/// <summary>One submission of a request: the operation key and the metadata.generation of the spec that carried it.</summary>
public sealed record RequestIdentity(string Key, string? EventId, long Generation);

/// <summary>How a request ended, as the status writer records it.</summary>
/// <param name="Succeeded">True for success.</param>
/// <param name="Reason">"Succeeded", or the error class of a failure.</param>
/// <param name="Message">A full sentence (bounded; no secrets).</param>
/// <param name="View">The seed's observed object for the kind's result key; null leaves it unchanged.</param>
/// <param name="PowerState">VMs: the power state, or null when unknown/unchanged.</param>
/// <param name="ExtraSpec">Other seed fields (by name) to set in spec.</param>
public sealed record RequestOutcome(bool Succeeded, string Reason, string Message, JsonNode? View = null, string? PowerState = null,
    JsonObject? ExtraSpec = null)
{
    public const string SucceededReason = "Succeeded";

    /// <summary>The node that owns the object after a successful migration (see HandlerResult.Success.MovedToNode).</summary>
    public string? MovedToNode { get; init; }

    /// <summary>Annotations the outcome's spec patch sets on the object (e.g. <see cref="FailedCreate.PoolAnnotation"/>).</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    public static RequestOutcome Success(string message, JsonNode? view = null, string? powerState = null, JsonObject? extraSpec = null) =>
        new(true, SucceededReason, message, view, powerState, extraSpec);

    public static RequestOutcome Failure(string errorClass, string message) => new(false, errorClass, message);
}

/// <summary>
/// Pure functions that write the Kubernetes-native view (<c>.status</c>, architecture §1.3): the request record
/// (<c>status.lifecycle</c>), <c>observedGeneration</c>, <c>nodeName</c>, <c>powerState</c> and the Ready condition.
/// </summary>
public static class RequestRecords
{
    /// <summary>Longest message kept in status and spec.status.</summary>
    public const int MaxMessageLength = 1024;

    public const string RunningReason = "Running";

    /// <summary>The request's event ID: label kubestack.label.event.id, else the older clients' eventId.</summary>
    public static string? EventIdOf(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var labels = obj.Metadata?.Labels;
        if (labels is null)
        {
            return null;
        }

        return labels.TryGetValue(Labels.EventId, out var id) && !string.IsNullOrEmpty(id) ? id
            : labels.TryGetValue(Labels.LegacyEventId, out var legacy) && !string.IsNullOrEmpty(legacy) ? legacy
            : null;
    }

    /// <summary>True when <paramref name="record"/> is about this very submission (same key, same generation).</summary>
    public static bool IsSameSubmission(LifecycleRecord? record, RequestIdentity request) =>
        record is not null && record.Key == request.Key && record.Generation == request.Generation;

    /// <summary>
    /// Marks the request as claimed by this node: phase Running, one more attempt, Ready=False/Running. Written
    /// through the status subresource before the handler runs, so that after a crash the request is resumed (not lost,
    /// not started twice in parallel).
    /// </summary>
    public static void ApplyClaim(KubeStackResource obj, RequestIdentity request, string nodeName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(request);
        var status = obj.Status ??= new KubeStackStatus();
        var previous = status.Lifecycle;
        var same = IsSameSubmission(previous, request);
        // A resumed run (crash, retry) keeps the first start time; a request the operator marked Pending/Accepted starts now.
        var resumed = same && previous!.Phase == RequestPhase.Running;
        var attempts = same ? previous!.Attempts + 1 : 1;
        var message = Bound(attempts == 1
            ? $"{request.Key} is running on node {nodeName}."
            : $"{request.Key} is running on node {nodeName} (attempt {attempts}).");
        status.Lifecycle = new LifecycleRecord
        {
            Key = request.Key,
            EventId = request.EventId,
            Phase = RequestPhase.Running,
            Reason = RunningReason,
            Message = message,
            StartTime = resumed && previous!.StartTime is { } started ? started : now,
            CompletionTime = null,
            Attempts = attempts,
            Generation = request.Generation,
        };
        status.NodeName = nodeName;
        SetCondition(status, ConditionTypes.Ready, "False", RunningReason, message, request.Generation, now);
    }

    /// <summary>Records how the request ended: phase, reason, message, completion time, Ready and observedGeneration.</summary>
    public static void ApplyOutcome(KubeStackResource obj, RequestIdentity request, RequestOutcome outcome, string nodeName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(outcome);
        var status = obj.Status ??= new KubeStackStatus();
        var previous = status.Lifecycle;
        var same = IsSameSubmission(previous, request);
        var message = Bound(outcome.Message);
        status.Lifecycle = new LifecycleRecord
        {
            Key = request.Key,
            EventId = request.EventId,
            Phase = outcome.Succeeded ? RequestPhase.Succeeded : RequestPhase.Failed,
            Reason = outcome.Reason,
            Message = message,
            StartTime = same && previous!.StartTime is { } started ? started : now,
            CompletionTime = now,
            Attempts = same ? Math.Max(1, previous!.Attempts) : 1,
            Generation = request.Generation,
        };
        status.ObservedGeneration = request.Generation;
        status.NodeName = outcome.MovedToNode ?? nodeName;
        if (outcome.PowerState is { } power)
        {
            status.PowerState = power;
        }

        SetCondition(status, ConditionTypes.Ready, outcome.Succeeded ? "True" : "False", outcome.Reason, message, request.Generation, now);
    }

    /// <summary>Sets a condition; lastTransitionTime changes only when the condition's status changes.</summary>
    public static void SetCondition(KubeStackStatus status, string type, string conditionStatus, string reason, string message,
        long? observedGeneration, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var conditions = status.Conditions ??= [];
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            conditions.Add(new ResourceCondition
            {
                Type = type,
                Status = conditionStatus,
                Reason = reason,
                Message = message,
                LastTransitionTime = now,
                ObservedGeneration = observedGeneration,
            });
            return;
        }

        if (existing.Status != conditionStatus)
        {
            existing.LastTransitionTime = now;
        }

        existing.Status = conditionStatus;
        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = observedGeneration;
    }

    public static string Bound(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Length <= MaxMessageLength ? message : message[..(MaxMessageLength - 3)] + "...";
    }
}
