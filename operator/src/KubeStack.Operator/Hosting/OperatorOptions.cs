using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace KubeStack.Operator.Hosting;

/// <summary>
/// The operator's settings: a command-line switch (<c>--name value</c>) or an environment variable (the switch wins).
/// Invalid values stop the operator at start with a message naming the setting.
/// </summary>
public sealed class OperatorOptions
{
    /// <summary>kubeconfig path (--kubeconfig, KUBECONFIG); null = in-cluster, else ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }
    /// <summary>This replica's name in the leader Lease (--identity, POD_NAME; default host name + process id).</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Serve the admission webhook (--webhook, KUBESTACK_WEBHOOK: true|false).</summary>
    public bool WebhookEnabled { get; init; } = true;
    public IPAddress WebhookAddress { get; init; } = IPAddress.Any;
    /// <summary>HTTPS port of the webhook (--webhook-port, KUBESTACK_WEBHOOK_PORT; 0 = any free port).</summary>
    public int WebhookPort { get; init; } = 9443;
    /// <summary>PEM certificate and key (--webhook-cert/--webhook-key, KUBESTACK_WEBHOOK_CERT/KEY): the chart's Secret; reloaded on change.</summary>
    public string? WebhookCertFile { get; init; }
    public string? WebhookKeyFile { get; init; }
    /// <summary>Development mode (--webhook-dev-cert, KUBESTACK_WEBHOOK_DEV_CERT): a self-signed certificate made at start.</summary>
    public bool WebhookDevCertificate { get; init; }
    /// <summary>Where the development CA (caBundle) is written as PEM (--webhook-dev-ca-out).</summary>
    public string? WebhookDevCaOut { get; init; }
    /// <summary>Extra DNS names/IPs of the development certificate, comma-separated (--webhook-dev-names).</summary>
    public IReadOnlyList<string> WebhookDevNames { get; init; } = [];

    /// <summary>Run the leader-elected controller (--controller, KUBESTACK_CONTROLLER: true|false).</summary>
    public bool ControllerEnabled { get; init; } = true;
    /// <summary>Namespace and name of the leader Lease (--leader-namespace/POD_NAMESPACE, --leader-lease).</summary>
    public string LeaderNamespace { get; init; } = "kubestack-system";
    public string LeaderLease { get; init; } = "kubestack-operator";
    /// <summary>Leader Lease timings (seconds): a new leader takes over at most LeaseDuration + RetryPeriod after the old one stops renewing.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Namespace of the agents' Leases (--agent-lease-namespace, KUBESTACK_AGENT_LEASE_NAMESPACE).</summary>
    public string AgentLeaseNamespace { get; init; } = Routing.AgentLeases.DefaultNamespace;
    /// <summary>An agent silent for longer is unreachable (--node-timeout, KUBESTACK_NODE_TIMEOUT_SECONDS; default 40 s).</summary>
    public TimeSpan NodeTimeout { get; init; } = TimeSpan.FromSeconds(40);
    public TimeSpan LivenessCheckPeriod { get; init; } = TimeSpan.FromSeconds(5);
    public int Workers { get; init; } = 4;
    public bool JsonLogs { get; init; }

    public static OperatorOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new OperatorOptions();
        var address = First(configuration, "webhook-address", "KUBESTACK_WEBHOOK_ADDRESS");
        IPAddress? parsedAddress = null;
        if (address is not null && !IPAddress.TryParse(address, out parsedAddress))
        {
            throw new ArgumentException($"--webhook-address / KUBESTACK_WEBHOOK_ADDRESS must be an IP address, not '{address}'.");
        }

        var options = new OperatorOptions
        {
            Kubeconfig = First(configuration, "kubeconfig", "KUBECONFIG"),
            Identity = First(configuration, "identity", "POD_NAME") ?? defaults.Identity,
            WebhookEnabled = Bool(configuration, "webhook", "KUBESTACK_WEBHOOK", true),
            WebhookAddress = parsedAddress ?? defaults.WebhookAddress,
            WebhookPort = Int(configuration, "webhook-port", "KUBESTACK_WEBHOOK_PORT", defaults.WebhookPort, 0, 65535),
            WebhookCertFile = First(configuration, "webhook-cert", "KUBESTACK_WEBHOOK_CERT"),
            WebhookKeyFile = First(configuration, "webhook-key", "KUBESTACK_WEBHOOK_KEY"),
            WebhookDevCertificate = Bool(configuration, "webhook-dev-cert", "KUBESTACK_WEBHOOK_DEV_CERT", false),
            WebhookDevCaOut = First(configuration, "webhook-dev-ca-out", "KUBESTACK_WEBHOOK_DEV_CA_OUT"),
            WebhookDevNames = (First(configuration, "webhook-dev-names", "KUBESTACK_WEBHOOK_DEV_NAMES") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ControllerEnabled = Bool(configuration, "controller", "KUBESTACK_CONTROLLER", true),
            LeaderNamespace = First(configuration, "leader-namespace", "POD_NAMESPACE") ?? defaults.LeaderNamespace,
            LeaderLease = First(configuration, "leader-lease", "KUBESTACK_LEADER_LEASE") ?? defaults.LeaderLease,
            LeaseDuration = Seconds(configuration, "lease-duration", "KUBESTACK_LEASE_DURATION_SECONDS", defaults.LeaseDuration),
            RenewDeadline = Seconds(configuration, "renew-deadline", "KUBESTACK_RENEW_DEADLINE_SECONDS", defaults.RenewDeadline),
            RetryPeriod = Seconds(configuration, "retry-period", "KUBESTACK_RETRY_PERIOD_SECONDS", defaults.RetryPeriod),
            AgentLeaseNamespace = First(configuration, "agent-lease-namespace", "KUBESTACK_AGENT_LEASE_NAMESPACE") ?? defaults.AgentLeaseNamespace,
            NodeTimeout = Seconds(configuration, "node-timeout", "KUBESTACK_NODE_TIMEOUT_SECONDS", defaults.NodeTimeout),
            LivenessCheckPeriod = Seconds(configuration, "liveness-period", "KUBESTACK_LIVENESS_PERIOD_SECONDS", defaults.LivenessCheckPeriod),
            Workers = Int(configuration, "workers", "KUBESTACK_WORKERS", defaults.Workers, 1, 64),
            JsonLogs = (First(configuration, "log-format", "KUBESTACK_LOG_FORMAT") ?? "text") == "json",
        };
        if (options.WebhookEnabled && !options.WebhookDevCertificate && (options.WebhookCertFile is null || options.WebhookKeyFile is null))
        {
            throw new ArgumentException("The webhook needs a certificate: pass --webhook-cert and --webhook-key (PEM files, e.g. the chart's Secret), or --webhook-dev-cert true for a self-signed one, or --webhook false.");
        }

        if (options.RenewDeadline >= options.LeaseDuration || options.RetryPeriod >= options.RenewDeadline)
        {
            throw new ArgumentException($"Leader election timings must satisfy retry-period < renew-deadline < lease-duration (got {options.RetryPeriod.TotalSeconds}s, {options.RenewDeadline.TotalSeconds}s, {options.LeaseDuration.TotalSeconds}s).");
        }

        return options;
    }

    private static string? First(IConfiguration c, string switchName, string env)
    {
        var value = c[switchName];
        if (string.IsNullOrWhiteSpace(value))
        {
            value = c[env];
        }

        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static bool Bool(IConfiguration c, string switchName, string env, bool fallback)
    {
        var text = First(c, switchName, env);
        return text is null ? fallback
            : bool.TryParse(text, out var b) ? b
            : throw new ArgumentException($"--{switchName} / {env} must be true or false, not '{text}'.");
    }

    private static int Int(IConfiguration c, string switchName, string env, int fallback, int min, int max)
    {
        var text = First(c, switchName, env);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v
            : throw new ArgumentException($"--{switchName} / {env} must be an integer from {min} to {max}, not '{text}'.");
    }

    private static TimeSpan Seconds(IConfiguration c, string switchName, string env, TimeSpan fallback)
    {
        var text = First(c, switchName, env);
        if (text is null)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 86400 ? TimeSpan.FromSeconds(v)
            : throw new ArgumentException($"--{switchName} / {env} must be a number of seconds above 0, not '{text}'.");
    }
}
