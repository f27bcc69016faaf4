using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Status;
using KubeStack.Runtime.Events;

namespace KubeStack.NodeAgent.Events;

/// <summary>
/// The Events of a request (architecture §1.5): their type, reason and note (operation, event ID, duration). The Started
/// and outcome Events of a request are named after what they report (object UID, generation, operation, attempt or
/// outcome), so the request runtime can write them while other writes are in flight and write them again after a crash
/// without doubling them (<see cref="IEventRecorder.RecordOnceAsync"/>).
/// </summary>
public sealed class LifecycleEvents(IEventRecorder recorder, string nodeName)
{
    public Task StartedAsync(KubeStackResource obj, RequestIdentity request, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var note = attempt <= 1
            ? $"Started {request.Key} on node {nodeName} (event ID {EventIdText(request)})."
            : $"Resumed {request.Key} on node {nodeName} (event ID {EventIdText(request)}, attempt {attempt}).";
        return recorder.RecordOnceAsync(obj, NameOf(obj, request, $"started/{attempt}"), EventTypes.Normal, EventReasons.LifecycleStarted, note,
            cancellationToken);
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
            return recorder.RecordOnceAsync(obj, NameOf(obj, request, "succeeded"), EventTypes.Normal, EventReasons.LifecycleSucceeded, note,
                cancellationToken);
        }

        var failure = $"{request.Key} failed on node {nodeName}{took} (event ID {EventIdText(request)}): {outcome.Message}";
        return recorder.RecordOnceAsync(obj, NameOf(obj, request, "failed/" + outcome.Reason), EventTypes.Warning, outcome.Reason, failure,
            cancellationToken);
    }

    /// <summary>
    /// <c>&lt;object&gt;.&lt;16 hex digits&gt;</c>: the digits hash the object's UID, the submission (generation, operation) and
    /// <paramref name="what"/>, so one submission's Event of one kind has one name (a DNS subdomain, as Event names must be).
    /// </summary>
    public static string NameOf(KubeStackResource obj, RequestIdentity request, string what)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(request);
        var identity = $"{obj.Metadata?.Uid}/{request.Generation}/{request.Key}/{what}";
        var suffix = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
        var name = obj.Metadata?.Name ?? "object";
        const int max = 253 - 16 - 1;
        return (name.Length > max ? name[..max] : name) + "." + suffix;
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
