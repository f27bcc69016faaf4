using System.Globalization;
using k8s.Models;

namespace KubeStack.Operator.Routing;

/// <summary>
/// The node heartbeat contract between the agents and the operator: each agent renews a coordination.k8s.io/v1 Lease
/// named <c>kubestack-agent-&lt;node&gt;</c> (namespace <c>kube-node-lease</c> by default) whose holderIdentity is the
/// node, and reports its free capacity in annotations. The agent's NodeHeartbeat writes the same names.
/// </summary>
public static class AgentLeases
{
    public const string DefaultNamespace = "kube-node-lease";
    public const string NamePrefix = "kubestack-agent-";
    /// <summary>Label on every agent Lease (so they can be listed apart from the kubelet's).</summary>
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string ComponentValue = "kubestack-node-agent";
    /// <summary>Bytes of memory available for new guests (MemAvailable).</summary>
    public const string FreeMemoryAnnotation = "kubestack.io/free-memory-bytes";
    /// <summary>CPU not in use, in millicores (online CPUs minus the 1-minute load average).</summary>
    public const string FreeCpuAnnotation = "kubestack.io/free-cpu-millis";
    /// <summary>Comma-separated names of the storage pools active on the node (optional).</summary>
    public const string PoolsAnnotation = "kubestack.io/pools";

    public static string LeaseName(string node) => NamePrefix + node;

    /// <summary>Reads one agent Lease; null when it is not one.</summary>
    public static NodeInfo? Parse(V1Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var name = lease.Metadata?.Name ?? "";
        if (!name.StartsWith(NamePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var node = name[NamePrefix.Length..];
        var annotations = lease.Metadata?.Annotations ?? new Dictionary<string, string>();
        var renew = lease.Spec?.RenewTime ?? lease.Spec?.AcquireTime;
        return new NodeInfo(
            node,
            renew is { } r ? new DateTimeOffset(DateTime.SpecifyKind(r, DateTimeKind.Utc)) : null,
            ReadLong(annotations, FreeMemoryAnnotation),
            ReadLong(annotations, FreeCpuAnnotation),
            annotations.TryGetValue(PoolsAnnotation, out var pools)
                ? pools.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal)
                : new HashSet<string>(StringComparer.Ordinal));
    }

    private static long? ReadLong(IDictionary<string, string> annotations, string key) =>
        annotations.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
}

/// <summary>What the operator knows of one node from its agent's Lease.</summary>
public sealed record NodeInfo(string Name, DateTimeOffset? RenewTime, long? FreeMemoryBytes, long? FreeCpuMillis, IReadOnlySet<string> Pools)
{
    /// <summary>True when the agent renewed its Lease within <paramref name="timeout"/> of <paramref name="now"/>.</summary>
    public bool IsLive(DateTimeOffset now, TimeSpan timeout) => RenewTime is { } r && now - r <= timeout;
}
