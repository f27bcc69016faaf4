namespace KubeStack.Operator.Routing;

/// <summary>What a create needs from a node.</summary>
/// <param name="MemoryBytes">Memory the new object needs (VM creates), or 0.</param>
/// <param name="Pool">A storage pool the node must serve (from a VirtualMachinePool the request names), or null.</param>
public sealed record PlacementNeeds(long MemoryBytes = 0, string? Pool = null);

/// <summary>The scheduler's answer: a node, or why none fits.</summary>
public sealed record Placement(string? Node, string Reason)
{
    public bool Placed => Node is not null;
}

/// <summary>
/// Picks a node for a create among the nodes with a live agent: the node must report enough free memory (when the
/// request says how much) and serve the pool it names (when it names one); among those, the most free memory wins,
/// then the most free CPU, then the name (stable). Pure: the caller passes the nodes and the clock.
/// </summary>
public static class Scheduler
{
    public static Placement Choose(IEnumerable<NodeInfo> nodes, PlacementNeeds needs, DateTimeOffset now, TimeSpan liveness)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(needs);
        var all = nodes.ToList();
        var live = all.Where(n => n.IsLive(now, liveness)).ToList();
        if (live.Count == 0)
        {
            return new Placement(null, all.Count == 0
                ? "no node runs a KubeStack agent (no agent Lease found)"
                : $"no node has a live KubeStack agent (the Leases of {string.Join(", ", all.Select(n => n.Name).Order(StringComparer.Ordinal))} are older than {liveness.TotalSeconds:0}s)");
        }

        var candidates = live;
        if (needs.Pool is { } pool)
        {
            candidates = candidates.Where(n => n.Pools.Contains(pool)).ToList();
            if (candidates.Count == 0)
            {
                return new Placement(null, $"no live node serves storage pool '{pool}' (live nodes: {string.Join(", ", live.Select(n => n.Name).Order(StringComparer.Ordinal))})");
            }
        }

        if (needs.MemoryBytes > 0)
        {
            var fitting = candidates.Where(n => n.FreeMemoryBytes is { } m && m >= needs.MemoryBytes).ToList();
            if (fitting.Count == 0)
            {
                var best = candidates.Max(n => n.FreeMemoryBytes ?? 0);
                return new Placement(null, $"no live node has {needs.MemoryBytes} bytes of free memory (the most any reports is {best})");
            }

            candidates = fitting;
        }

        var chosen = candidates
            .OrderByDescending(n => n.FreeMemoryBytes ?? 0)
            .ThenByDescending(n => n.FreeCpuMillis ?? 0)
            .ThenBy(n => n.Name, StringComparer.Ordinal)
            .First();
        return new Placement(chosen.Name, $"scheduled on {chosen.Name} (free memory {chosen.FreeMemoryBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"} bytes, free CPU {chosen.FreeCpuMillis?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}m)");
    }
}
