using System.Diagnostics.Metrics;

namespace KubeStack.Runtime.Queue;

/// <summary>
/// Work queue instruments (tag <c>queue</c> = the queue's name). Names follow
/// <c>kubestack_&lt;subsystem&gt;_&lt;what&gt;_&lt;unit&gt;</c> and are part of the metrics API (docs/metrics.md).
/// </summary>
public static class QueueMetrics
{
    public const string MeterName = "KubeStack.Runtime";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Keys ready for a worker.</summary>
    public static readonly UpDownCounter<long> Depth =
        Meter.CreateUpDownCounter<long>("kubestack_queue_depth", unit: "{key}", description: "Keys waiting for a worker.");

    public static readonly Counter<long> Adds =
        Meter.CreateCounter<long>("kubestack_queue_adds_total", unit: "{add}", description: "Keys added to the queue.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("kubestack_queue_retries_total", unit: "{retry}", description: "Rate-limited re-adds after a failure.");

    public static readonly Histogram<double> WaitDuration =
        Meter.CreateHistogram<double>("kubestack_queue_wait_duration_seconds", unit: "s", description: "Time a key waited in the queue before a worker took it.");

    public static readonly Histogram<double> WorkDuration =
        Meter.CreateHistogram<double>("kubestack_queue_work_duration_seconds", unit: "s", description: "Time a worker spent on one key.");
}
