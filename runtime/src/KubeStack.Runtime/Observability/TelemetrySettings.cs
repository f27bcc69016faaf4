using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace KubeStack.Runtime.Observability;

/// <summary>
/// Where a component exposes its telemetry: the Prometheus <c>/metrics</c> port (--metrics-port, KUBESTACK_METRICS_PORT;
/// 0 = no endpoint) and the OTLP trace endpoint (OTEL_EXPORTER_OTLP_ENDPOINT; unset = traces are not exported).
/// </summary>
public sealed record TelemetrySettings
{
    /// <summary>service.name of the exported telemetry (kubestack-node-agent, kubestack-operator).</summary>
    public required string ServiceName { get; init; }

    /// <summary>TCP port of the Prometheus endpoint on all addresses; 0 turns it off.</summary>
    public int MetricsPort { get; init; }

    /// <summary>Host name the endpoint binds to: <c>*</c> (all addresses, in clusters) or <c>localhost</c> (tests).</summary>
    public string MetricsHost { get; init; } = "*";

    /// <summary>OTLP endpoint (http://collector:4317); null = no trace export.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Meter names to export (the component's and the runtime's).</summary>
    public IReadOnlyList<string> Meters { get; init; } = [];

    /// <summary>ActivitySource names to export.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>Reads the settings; an invalid port or endpoint throws <see cref="ArgumentException"/> naming the setting.</summary>
    public static TelemetrySettings FromConfiguration(IConfiguration configuration, string serviceName, int defaultMetricsPort)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var portText = new[] { configuration["metrics-port"], configuration["KUBESTACK_METRICS_PORT"] }.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
        var port = defaultMetricsPort;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.Integer, CultureInfo.InvariantCulture, out port) || port is < 0 or > 65535))
        {
            throw new ArgumentException($"--metrics-port / KUBESTACK_METRICS_PORT must be an integer from 0 to 65535, not '{portText}'.");
        }

        var endpointText = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(endpointText)
            && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, not '{endpointText}'.");
        }

        return new TelemetrySettings { ServiceName = serviceName, MetricsPort = port, OtlpEndpoint = endpoint };
    }
}
