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

    /// <summary>The protocols that mean all of the port's traffic: only these get the OVS-level limit too.</summary>
    public static bool MeansThePort(string protocol) => protocol is "ip" or "ip4";

    /// <summary>
    /// The OVS side of a QoS change for the VM's interfaces bound on this node (external_ids:iface-id = the logical port),
    /// when the rule means the whole port (<see cref="MeansThePort"/>): direction from (what the VM sends, OVS ingress) →
    /// ingress_policing_rate/burst (kbps / kb; stored, not enforced on kernels without act_police); direction to (what
    /// the VM receives, OVS egress) → a linux-htb QoS on the port with max-rate = rate × 1000 bps and burst = burst ×
    /// 1000 bits (tc htb, enforced). <paramref name="clear"/> removes them. None when OVS is absent or nothing is bound.
    /// </summary>
    public static async Task<IReadOnlyList<OvsdbCommand>> PolicingAsync(NetworkHost host, Request r, IReadOnlyCollection<string> ports, bool clear, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(r);
        if (!MeansThePort(r.Protocol)) return [];
        IReadOnlyList<OvsdbRow> ifaces;
        IReadOnlyList<OvsdbRow> ovsPorts = [];
        try
        {
            ifaces = await host.Ovs.ListInterfacesAsync(ct).ConfigureAwait(false);
            if (r.Type == "to") ovsPorts = await host.Ovs.ListPortsAsync(ct).ConfigureAwait(false);
        }
        catch (HostToolException)
        {
            return [];
        }
        var bound = ifaces.Where(i => ports.Contains(i.Map("external_ids").GetValueOrDefault("iface-id") ?? string.Empty)).ToList();
        var cmds = new List<OvsdbCommand>();
        foreach (var i in bound)
        {
            if (r.Type == "from")
            {
                cmds.Add(OvsdbCommand.Of("set", "Interface", i.Text("name")!,
                    $"ingress_policing_rate={NetworkParameters.Num(clear ? 0 : r.Rate)}", $"ingress_policing_burst={NetworkParameters.Num(clear ? 0 : r.Burst)}"));
                continue;
            }
            var port = ovsPorts.FirstOrDefault(p => p.Set("interfaces").Contains(i.Uuid));
            if (port is null) continue;
            var name = port.Text("name")!;
            var old = port.Text("qos");
            if (old is not null)
            {
                cmds.Add(OvsdbCommand.Of("clear", "Port", name, "qos"));
                cmds.Add(OvsdbCommand.Of("destroy", "QoS", old));
            }
            if (!clear)
            {
                var id = "@htb_" + new string(name.Where(char.IsAsciiLetterOrDigit).ToArray());
                cmds.Add(OvsdbCommand.Of("set", "Port", name, $"qos={id}"));
                var create = new List<string> { $"--id={id}", "create", "QoS", "type=linux-htb", $"other_config:max-rate={NetworkParameters.Num(r.Rate * 1000)}" };
                if (r.Burst > 0) create.Add($"other_config:burst={NetworkParameters.Num(r.Burst * 1000)}");
                create.Add(NetworkIds.Pair(NetworkIds.Port, i.Map("external_ids")["iface-id"]));
                cmds.Add(new OvsdbCommand(create));
            }
        }
        return cmds;
    }

    /// <summary>What the OVS side did, for the result message.</summary>
    public static string Describe(Request r, int commands, bool clear) =>
        commands == 0 ? string.Empty
        : r.Type == "from" ? $"; OVS ingress policing {(clear ? "cleared" : $"{r.Rate} kbps")} on the bound interface(s) (stored, not enforced on this kernel)"
        : $"; OVS linux-htb QoS {(clear ? "removed" : $"max-rate {r.Rate} kbps")} on the bound port(s) (tc htb, enforced)";
}
