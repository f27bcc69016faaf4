using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Observability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace KubeStack.NodeAgent.Observability;

/// <summary>The agent's telemetry: request/node/VM/pool metrics on /metrics (on KUBESTACK_METRICS_PORT; the chart sets 9465) and request traces.</summary>
public static class AgentTelemetry
{
    /// <summary>The port the chart configures (KUBESTACK_METRICS_PORT); without it no endpoint is opened (local processes, tests).</summary>
    public const int ChartMetricsPort = 9465;

    /// <summary>Every ActivitySource of the agent (the request, its libvirt calls).</summary>
    public static readonly string[] Sources = [RequestProcessor.ActivitySource.Name, LibvirtTelemetry.SourceName];

    public static IServiceCollection AddAgentTelemetry(this IServiceCollection services, IConfiguration configuration, string nodeName)
    {
        var settings = TelemetrySettings.FromConfiguration(configuration, "kubestack-node-agent", defaultMetricsPort: 0) with
        {
            Meters = [AgentMetrics.MeterName, HostStatsCollector.MeterName],
            Sources = Sources,
        };
        services.AddSingleton(sp => new HostStatsCollector(sp.GetRequiredService<LibvirtHost>(), nodeName, sp.GetRequiredService<ILogger<HostStatsCollector>>()));
        services.AddKubeStackTelemetry(settings);
        // The collector's instruments exist once it is constructed: build it with the meter provider.
        services.ConfigureOpenTelemetryMeterProvider((sp, _) => sp.GetRequiredService<HostStatsCollector>());
        return services;
    }
}
