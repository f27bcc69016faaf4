using System.Diagnostics.Metrics;

namespace KubeStack.NodeAgent.Observability;

/// <summary>
/// The agent's request and node instruments (meter <see cref="MeterName"/>). Names follow
/// <c>kubestack_&lt;subsystem&gt;_&lt;what&gt;_&lt;unit&gt;</c> and are API: docs/metrics.md lists each with its labels.
/// Labels never carry user input beyond kind, operation key and error class (all from closed sets).
/// </summary>
public static class AgentMetrics
{
    public const string MeterName = "KubeStack.NodeAgent";

    private static readonly Meter Meter = new(MeterName);
    private static long _lastVmResyncUnixMs;
    private static long _lastStorageResyncUnixMs;

    /// <summary>Finished requests by kind, operation, result (succeeded|failed) and error class ("" on success).</summary>
    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("kubestack_agent_requests_total", unit: "{request}", description: "Lifecycle requests finished by this agent.");

    /// <summary>Claim to outcome, by kind, operation and result.</summary>
    public static readonly Histogram<double> RequestDuration =
        Meter.CreateHistogram<double>("kubestack_agent_request_duration_seconds", unit: "s",
            description: "Time from a request's claim to its recorded outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800] });

    /// <summary>Requests whose handler is running now, by kind and operation.</summary>
    public static readonly UpDownCounter<long> InFlight =
        Meter.CreateUpDownCounter<long>("kubestack_agent_requests_in_flight", unit: "{request}", description: "Lifecycle requests being processed by this agent now.");

    static AgentMetrics()
    {
        Meter.CreateObservableGauge("kubestack_agent_up", () => 1, unit: "{agent}", description: "1 while the agent process runs (absent when it is down).");
        Meter.CreateObservableGauge("kubestack_agent_last_resync_timestamp_seconds", () => new[]
        {
            Timestamp("vm", Interlocked.Read(ref _lastVmResyncUnixMs)),
            Timestamp("storage", Interlocked.Read(ref _lastStorageResyncUnixMs)),
        }.Where(m => m.Value > 0), unit: "s", description: "Unix time of the last completed periodic resync, by resync (vm, storage).");
    }

    /// <summary>Records a finished request.</summary>
    public static void RequestFinished(string kind, string operation, bool succeeded, string? errorClass, TimeSpan? duration)
    {
        var result = succeeded ? "succeeded" : "failed";
        Requests.Add(1, new("kind", kind), new("operation", operation), new("result", result), new("error_class", succeeded ? "" : errorClass ?? "Exception"));
        if (duration is { } d)
        {
            RequestDuration.Record(d.TotalSeconds, new("kind", kind), new("operation", operation), new("result", result));
        }
    }

    /// <summary>Marks a request as running until the returned scope is disposed.</summary>
    public static InFlightScope Running(string kind, string operation) => new(kind, operation);

    /// <summary>Records the end of a periodic resync (<paramref name="resync"/>: vm or storage).</summary>
    public static void ResyncCompleted(string resync, DateTimeOffset at)
    {
        ref var slot = ref resync == "storage" ? ref _lastStorageResyncUnixMs : ref _lastVmResyncUnixMs;
        Interlocked.Exchange(ref slot, at.ToUnixTimeMilliseconds());
    }

    private static Measurement<double> Timestamp(string resync, long unixMs) => new(unixMs / 1000.0, new KeyValuePair<string, object?>("resync", resync));

    /// <summary>Decrements the in-flight gauge once when disposed.</summary>
    public sealed class InFlightScope : IDisposable
    {
        private readonly KeyValuePair<string, object?>[] _tags;
        private int _disposed;

        internal InFlightScope(string kind, string operation)
        {
            _tags = [new("kind", kind), new("operation", operation)];
            InFlight.Add(1, _tags);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                InFlight.Add(-1, _tags);
            }
        }
    }
}
