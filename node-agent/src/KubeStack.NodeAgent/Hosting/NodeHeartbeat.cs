using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Hosting;

/// <summary>
/// The node heartbeat the operator schedules and checks liveness with (docs/operator.md): every 10 s the agent
/// creates or renews the Lease <c>kube-node-lease/kubestack-agent-&lt;node&gt;</c> (holderIdentity = node,
/// leaseDurationSeconds 40) with its free capacity in annotations: <c>kubestack.io/free-memory-bytes</c> (MemAvailable
/// from /proc/meminfo) and <c>kubestack.io/free-cpu-millis</c> (online CPUs minus the 1-minute load average, from
/// /proc/loadavg). The names match the operator's Routing/AgentLeases.cs. Failures are logged and retried next period.
/// </summary>
public sealed class NodeHeartbeat : BackgroundService
{
    public const string LeaseNamespace = "kube-node-lease";
    public const string LeasePrefix = "kubestack-agent-";
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private readonly IKubernetes _client;
    private readonly AgentOptions _options;
    private readonly ILogger<NodeHeartbeat> _logger;

    public NodeHeartbeat(IKubernetes client, AgentOptions options, ILogger<NodeHeartbeat> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            try
            {
                await RenewAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogWarning("Node heartbeat of {Node} failed ({Error}); retrying in {Period}.", _options.NodeName, ex.Message, Period);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task RenewAsync(CancellationToken ct)
    {
        var name = LeasePrefix + _options.NodeName;
        var annotations = new Dictionary<string, string>();
        if (FreeMemoryBytes() is { } memory)
        {
            annotations["kubestack.io/free-memory-bytes"] = memory.ToString(CultureInfo.InvariantCulture);
        }

        if (FreeCpuMillis() is { } cpu)
        {
            annotations["kubestack.io/free-cpu-millis"] = cpu.ToString(CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrWhiteSpace(_options.NodeAddress))
        {
            // migration targets (Lifecycle/Common/MigrationTargets.cs): ip → node, and the libvirt URI to migrate to
            annotations[Lifecycle.Common.MigrationTargets.AddressAnnotation] = _options.NodeAddress;
            annotations[Lifecycle.Common.MigrationTargets.MigrationUriAnnotation] =
                Lifecycle.Common.MigrationTargets.DefaultUri(_options.NodeAddress, _options.MigrationUri);
        }

        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = LeaseNamespace,
                Labels = new Dictionary<string, string> { ["app.kubernetes.io/component"] = "kubestack-node-agent" },
                Annotations = annotations,
            },
            Spec = new V1LeaseSpec { HolderIdentity = _options.NodeName, LeaseDurationSeconds = 40, RenewTime = DateTime.UtcNow },
        };
        try
        {
            var existing = await _client.CoordinationV1.ReadNamespacedLeaseAsync(name, LeaseNamespace, cancellationToken: ct).ConfigureAwait(false);
            lease.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, LeaseNamespace, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(lease, LeaseNamespace, cancellationToken: ct).ConfigureAwait(false);
        }
    }

    /// <summary>MemAvailable from /proc/meminfo, in bytes; null when unreadable.</summary>
    public static long? FreeMemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Online CPUs minus the 1-minute load average, in millicores (at least 0); null when unreadable.</summary>
    public static long? FreeCpuMillis()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (first is null || !double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var load))
            {
                return null;
            }

            return Math.Max(0, (long)((Environment.ProcessorCount - load) * 1000));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
