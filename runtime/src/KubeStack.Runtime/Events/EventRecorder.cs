using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Runtime.Events;

public static class EventTypes
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}

/// <summary>Records Kubernetes Events about objects. Recording is best effort: failures are logged, never thrown.</summary>
public interface IEventRecorder
{
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> involved, string type, string reason, string message, CancellationToken cancellationToken);

    /// <summary>
    /// Records an Event under a name the caller derives from what it reports (e.g. one request's outcome), so that
    /// recording it again (after a crash and restart) finds it and writes nothing: the Event exists once. Not aggregated.
    /// Recorders without named Events record it as <see cref="RecordAsync"/> does.
    /// </summary>
    Task RecordOnceAsync(IKubernetesObject<V1ObjectMeta> involved, string name, string type, string reason, string message,
        CancellationToken cancellationToken) => RecordAsync(involved, type, reason, message, cancellationToken);
}

/// <summary>
/// Writes core/v1 Events (what <c>kubectl describe</c> and <c>kubectl get events</c> show). Repeats of the same
/// (object, type, reason, message) within <see cref="AggregationWindow"/> bump <c>count</c> and <c>lastTimestamp</c>
/// on the existing Event instead of creating a new one, as the Go recorder does.
/// </summary>
public sealed class EventRecorder : IEventRecorder
{
    /// <summary>Longest message kept; the rest is cut (events are not a log).</summary>
    public const int MaxMessageLength = 1024;
    private const int MaxRemembered = 4096;

    private readonly IKubernetes _client;
    private readonly string _component;
    private readonly string _instance;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Uid, string Type, string Reason, string Message), Seen> _seen = [];
    private readonly Lock _gate = new();

    /// <param name="client">The API client.</param>
    /// <param name="component">The reporting controller (kubestack-node-agent).</param>
    /// <param name="instance">The reporting instance (the node name).</param>
    public EventRecorder(IKubernetes client, string component, string instance, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _component = component;
        _instance = instance;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public TimeSpan AggregationWindow { get; init; } = TimeSpan.FromMinutes(10);

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> involved, string type, string reason, string message,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(involved);
        var ns = involved.Metadata?.NamespaceProperty ?? "default";
        var text = message.Length > MaxMessageLength ? message[..(MaxMessageLength - 3)] + "..." : message;
        var now = _time.GetUtcNow().UtcDateTime;
        var key = (involved.Metadata?.Uid ?? ObjectRefText(involved), type, reason, text);
        try
        {
            Seen? previous;
            lock (_gate)
            {
                _seen.TryGetValue(key, out previous);
            }

            if (previous is not null && now - previous.LastSeen < AggregationWindow)
            {
                var count = previous.Count + 1;
                var patch = new JsonObject
                {
                    ["count"] = count,
                    ["lastTimestamp"] = now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                };
                try
                {
                    await _client.CoreV1.PatchNamespacedEventAsync(
                        new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), previous.Name, ns,
                        cancellationToken: cancellationToken).ConfigureAwait(false);
                    Remember(key, previous with { Count = count, LastSeen = now });
                    return;
                }
                catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    // The event expired (TTL) or was deleted: create a new one.
                }
            }

            var evt = NewEvent(involved, EventName(involved, now), ns, type, reason, text, now);
            var created = await _client.CoreV1.CreateNamespacedEventAsync(evt, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            Remember(key, new Seen(created.Metadata.Name, 1, now));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not record {Type} event {Reason} for {Object}.", type, reason, ObjectRefText(involved));
        }
    }

    public async Task RecordOnceAsync(IKubernetesObject<V1ObjectMeta> involved, string name, string type, string reason, string message,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(involved);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var ns = involved.Metadata?.NamespaceProperty ?? "default";
        var text = message.Length > MaxMessageLength ? message[..(MaxMessageLength - 3)] + "..." : message;
        try
        {
            var evt = NewEvent(involved, name, ns, type, reason, text, _time.GetUtcNow().UtcDateTime);
            await _client.CoreV1.CreateNamespacedEventAsync(evt, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // AlreadyExists: an earlier run (before a crash) recorded this very Event.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not record {Type} event {Reason} for {Object}.", type, reason, ObjectRefText(involved));
        }
    }

    private Corev1Event NewEvent(IKubernetesObject<V1ObjectMeta> involved, string name, string ns, string type, string reason, string text,
        DateTime now) => new()
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = involved.ApiVersion,
                Kind = involved.Kind,
                Name = involved.Metadata?.Name,
                NamespaceProperty = involved.Metadata?.NamespaceProperty,
                Uid = involved.Metadata?.Uid,
                ResourceVersion = involved.Metadata?.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = text,
            Count = 1,
            FirstTimestamp = now,
            LastTimestamp = now,
            Source = new V1EventSource { Component = _component, Host = _instance },
            ReportingComponent = _component,
            ReportingInstance = _instance,
        };

    private void Remember((string, string, string, string) key, Seen seen)
    {
        lock (_gate)
        {
            if (_seen.Count >= MaxRemembered && !_seen.ContainsKey(key))
            {
                var cutoff = _time.GetUtcNow().UtcDateTime - AggregationWindow;
                foreach (var stale in _seen.Where(kv => kv.Value.LastSeen < cutoff).Select(kv => kv.Key).ToList())
                {
                    _seen.Remove(stale);
                }

                if (_seen.Count >= MaxRemembered)
                {
                    _seen.Clear();
                }
            }

            _seen[key] = seen;
        }
    }

    private static string EventName(IKubernetesObject<V1ObjectMeta> involved, DateTime now)
    {
        var name = involved.Metadata?.Name ?? "object";
        var suffix = (now.Ticks ^ Random.Shared.NextInt64(0, 1L << 20)).ToString("x", CultureInfo.InvariantCulture);
        var max = 253 - suffix.Length - 1;
        return (name.Length > max ? name[..max] : name) + "." + suffix;
    }

    private static string ObjectRefText(IKubernetesObject<V1ObjectMeta> obj) =>
        $"{obj.Kind} {obj.Metadata?.NamespaceProperty}/{obj.Metadata?.Name}";

    private sealed record Seen(string Name, int Count, DateTime LastSeen);
}
