using System.Diagnostics;
using System.Diagnostics.Metrics;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KubeStack.Operator.Observability;

/// <summary>
/// The operator's instruments (meter <see cref="MeterName"/>) and spans (source <see cref="SourceName"/>): admissions
/// by result, routing decisions, leader status; one "admission" span per reviewed request and one "route" span per
/// routing decision, both in the request's trace (<see cref="RequestTrace"/>). Names are API: docs/metrics.md.
/// </summary>
public static class OperatorTelemetry
{
    public const string MeterName = "KubeStack.Operator";
    public const string SourceName = "KubeStack.Operator";
    /// <summary>The port the chart configures (KUBESTACK_METRICS_PORT); without it no endpoint is opened (local processes, tests).</summary>
    public const int ChartMetricsPort = 9464;

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter Meter = new(MeterName);
    private static readonly List<Func<bool>> LeaderProbes = [];

    /// <summary>Admission reviews of lifecycle requests by kind, operation, result (allowed|denied) and reason ("" when allowed).</summary>
    public static readonly Counter<long> Admissions =
        Meter.CreateCounter<long>("kubestack_operator_admissions_total", unit: "{review}", description: "Admission reviews of lifecycle requests answered by the webhook.");

    /// <summary>Routing decisions by kind, operation, decision (accepted|refused) and reason.</summary>
    public static readonly Counter<long> RoutingDecisions =
        Meter.CreateCounter<long>("kubestack_operator_routing_decisions_total", unit: "{decision}", description: "Requests the leader accepted for a node or refused.");

    static OperatorTelemetry()
    {
        Meter.CreateObservableGauge("kubestack_operator_leader", () =>
        {
            lock (LeaderProbes)
            {
                return LeaderProbes.Count == 0 ? 0 : LeaderProbes.Any(p => p()) ? 1 : 0;
            }
        }, unit: "{leader}", description: "1 while this replica holds the leader Lease, else 0.");
    }

    /// <summary>Reports <paramref name="isLeader"/> through kubestack_operator_leader.</summary>
    public static void TrackLeader(Func<bool> isLeader)
    {
        lock (LeaderProbes)
        {
            LeaderProbes.Add(isLeader);
        }
    }

    /// <summary>Starts the span of a lifecycle request's step in this operator, in the request's trace.</summary>
    public static Activity? StartRequestSpan(string name, string kind, string? ns, string? objectName, string? operationKey, string? eventId,
        IDictionary<string, string>? annotations, ActivityKind activityKind)
    {
        var parent = RequestTrace.ParentOf(kind, ns, objectName, operationKey, eventId, annotations);
        var activity = Source.StartActivity($"{name} {operationKey}", activityKind, parent);
        activity?.SetTag("kubestack.kind", kind);
        activity?.SetTag("kubestack.namespace", ns);
        activity?.SetTag("kubestack.name", objectName);
        activity?.SetTag("kubestack.event_id", eventId);
        return activity;
    }

    /// <summary>The request's event ID label (or the older clients' spelling).</summary>
    public static string? EventIdOf(IDictionary<string, string>? labels) =>
        labels is null ? null
            : labels.TryGetValue(Labels.EventId, out var id) && !string.IsNullOrEmpty(id) ? id
            : labels.TryGetValue(Labels.LegacyEventId, out var legacy) && !string.IsNullOrEmpty(legacy) ? legacy
            : null;

    /// <summary>/metrics (on KUBESTACK_METRICS_PORT; the chart sets 9464) and the operator's spans.</summary>
    public static IServiceCollection AddOperatorTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = TelemetrySettings.FromConfiguration(configuration, "kubestack-operator", defaultMetricsPort: 0) with
        {
            Meters = [MeterName],
            Sources = [SourceName],
        };
        return services.AddKubeStackTelemetry(settings);
    }
}
