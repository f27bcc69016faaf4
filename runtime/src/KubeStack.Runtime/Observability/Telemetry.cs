using KubeStack.Runtime.Queue;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace KubeStack.Runtime.Observability;

/// <summary>
/// OpenTelemetry for a component: its meters (plus the work queue's) on a Prometheus endpoint
/// (<c>http://&lt;host&gt;:&lt;port&gt;/metrics</c>, all addresses by default), its ActivitySources traced always and exported over OTLP when an endpoint is configured.
/// Metric names are <c>kubestack_*</c> and documented in docs/metrics.md.
/// </summary>
public static class Telemetry
{
    public static IServiceCollection AddKubeStackTelemetry(this IServiceCollection services, TelemetrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(settings.ServiceName));
        if (settings.MetricsPort > 0)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter([QueueMetrics.MeterName, .. settings.Meters]);
                metrics.AddPrometheusHttpListener(o =>
                {
                    // Host must be a valid URI host name; "*" (all addresses) is set on the listener itself.
                    o.Host = settings.MetricsHost == "*" ? "localhost" : settings.MetricsHost;
                    o.Port = settings.MetricsPort;
                    o.ScrapeEndpointPath = "/metrics";
                    if (settings.MetricsHost == "*")
                    {
                        o.ConfigureHttpListener = (_, listener) =>
                        {
                            listener.Prefixes.Clear();
                            listener.Prefixes.Add($"http://*:{settings.MetricsPort}/");
                        };
                    }
                });
            });
        }

        // Spans are always made (their trace ID goes into Events and logs); exported only when an endpoint is set.
        otel.WithTracing(tracing =>
        {
            tracing.AddSource([.. settings.Sources]);
            if (settings.OtlpEndpoint is { } endpoint)
            {
                tracing.AddOtlpExporter(o => o.Endpoint = endpoint);
            }
        });

        return services;
    }
}
