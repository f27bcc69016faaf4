using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// Shared steps of setQoS/modifyQoS/unsetQoS. OVN QoS rows carry the limit (rate/burst in kbps, as the catalog's units
/// and OVN's). For direction from (traffic the VM sends, OVS ingress on its port) the same limit is also written as
/// ingress_policing_rate/burst (kbps / kb) on the VM's OVS interface (external_ids:iface-id = the port) when it is bound
/// on this node; our kernels lack act_police, so that one is stored but not enforced (docs/networking.md).
/// </summary>
public static class VmQos
{
    public sealed record Request(string Switch, string Type, string Protocol, long Rate, long Burst, int Priority);

    public static Request Parse(RequestContext context, string op, bool needsLimits, bool priorityRequired)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var sw = NetworkParameters.Required(p, "swName", op);
        var type = NetworkParameters.Enum(p, "type", op, true, "from", "to");
        var proto = NetworkParameters.Enum(p, "rule", op, true, "ip", "ip4", "ip6", "tcp", "udp", "sctp", "icmp", "icmp4", "icmp6");
        long rate = 0, burst = 0;
        if (needsLimits)
        {
            rate = NetworkParameters.Integer(p, "rate", op, 0, 1_000_000) ?? throw NetworkFailures.Refused($"{op}.rate is required and missing; nothing was changed.");
            burst = NetworkParameters.Integer(p, "burst", op, 0, 100_000) ?? throw NetworkFailures.Refused($"{op}.burst is required and missing; nothing was changed.");
            if (rate == 0) throw NetworkFailures.Refused($"{op}.rate 0 would block all {proto} traffic (OVN needs a rate of at least 1 kbps); use unsetQoS to remove a limit. Nothing was changed.");
        }
        var priority = NetworkParameters.Integer(p, "priority", op, 0, 32767);
        if (priority is null && priorityRequired) throw NetworkFailures.Refused($"{op}.priority is required and missing; nothing was changed.");
        return new Request(sw, type, proto, rate, burst, priority ?? VmNetworkOperations.DefaultQosPriority);
    }

    public static async Task<IReadOnlyList<OvsdbRow>> RulesAsync(NetworkHost host, Request r, IReadOnlyCollection<string> ports, bool byPriority, CancellationToken ct) =>
        (await VmNetworkOperations.SwitchRowsAsync(host, r.Switch, "QoS", "qos_rules", OvnNbctl.QosColumns, ct).ConfigureAwait(false))
        .Where(q => ports.Contains(q.Map("external_ids").GetValueOrDefault(NetworkIds.Port) ?? string.Empty))
        .Where(q => q.Text("direction") == NetworkPlans.Direction(r.Type) && q.Map("external_ids").GetValueOrDefault(NetworkIds.Rule) == r.Protocol)
        .Where(q => !byPriority || q.Integer("priority") == r.Priority)
        .ToList();

    /// <summary>The OVS ingress policing commands for the ports bound on this node (from-direction only); none when OVS is absent.</summary>
    public static async Task<IReadOnlyList<OvsdbCommand>> PolicingAsync(NetworkHost host, Request r, IReadOnlyCollection<string> ports, bool clear, CancellationToken ct)
    {
        if (r.Type != "from") return [];
        IReadOnlyList<OvsdbRow> ifaces;
        try
        {
            ifaces = await host.Ovs.ListInterfacesAsync(ct).ConfigureAwait(false);
        }
        catch (HostToolException)
        {
            return [];
        }
        return ifaces.Where(i => ports.Contains(i.Map("external_ids").GetValueOrDefault("iface-id") ?? string.Empty))
            .Select(i => OvsdbCommand.Of("set", "Interface", i.Text("name")!,
                $"ingress_policing_rate={(clear ? 0 : r.Rate).ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                $"ingress_policing_burst={(clear ? 0 : r.Burst).ToString(System.Globalization.CultureInfo.InvariantCulture)}"))
            .ToList();
    }
}
