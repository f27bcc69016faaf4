using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Status;
using KubeStack.Runtime.Events;

namespace KubeStack.NodeAgent.Events;

/// <summary>The Events of a request (architecture §1.5): their type, reason and note (operation, event ID, duration).</summary>
public sealed class LifecycleEvents(IEventRecorder recorder, string nodeName)
{
    public Task StartedAsync(KubeStackResource obj, RequestIdentity request, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var note = attempt <= 1
            ? $"Started {request.Key} on node {nodeName} (event ID {EventIdText(request)})."
            : $"Resumed {request.Key} on node {nodeName} (event ID {EventIdText(request)}, attempt {attempt}).";
        return recorder.RecordAsync(obj, EventTypes.Normal, EventReasons.LifecycleStarted, note, cancellationToken);
    }

    public Task OutcomeAsync(KubeStackResource obj, RequestIdentity request, RequestOutcome outcome, TimeSpan? duration,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(outcome);
        var took = duration is { } d ? " in " + Seconds(d) : "";
        if (outcome.Succeeded)
        {
            var note = $"{request.Key} succeeded on node {nodeName}{took} (event ID {EventIdText(request)}).";
            return recorder.RecordAsync(obj, EventTypes.Normal, EventReasons.LifecycleSucceeded, note, cancellationToken);
        }

        var failure = $"{request.Key} failed on node {nodeName}{took} (event ID {EventIdText(request)}): {outcome.Message}";
        return recorder.RecordAsync(obj, EventTypes.Warning, outcome.Reason, failure, cancellationToken);
    }

    public Task CleanedUpAsync(KubeStackResource obj, string message, CancellationToken cancellationToken) =>
        recorder.RecordAsync(obj, EventTypes.Normal, EventReasons.HostCleanedUp, message, cancellationToken);

    public Task CleanupFailedAsync(KubeStackResource obj, string errorClass, string message, CancellationToken cancellationToken) =>
        recorder.RecordAsync(obj, EventTypes.Warning, errorClass, message, cancellationToken);

    /// <summary>The event ID, and the request's trace ID when a trace is current (docs/metrics.md "Traces").</summary>
    private static string EventIdText(RequestIdentity request) =>
        System.Diagnostics.Activity.Current is { } trace ? $"{request.EventId ?? "none"}, trace {trace.TraceId.ToHexString()}" : request.EventId ?? "none";

    private static string Seconds(TimeSpan duration) =>
        duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
