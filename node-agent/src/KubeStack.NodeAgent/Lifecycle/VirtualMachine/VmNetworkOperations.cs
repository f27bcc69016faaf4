using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// Shared steps of the VM network operations (ACLs, QoS, floating IPs): finding the VM's OVN logical switch port(s)
/// and reading back the ACL/QoS rows a change made. These operations leave spec.domain as it is and report the OVN
/// rows in the message.
/// </summary>
public static class VmNetworkOperations
{
    public const int DefaultAclPriority = 1;
    public const int DefaultQosPriority = 1;

    /// <summary>The VM's port (external_ids:kubestack-vm) on <paramref name="switchName"/> with the MAC (exactly one): another VM's port is never touched.</summary>
    public static async Task<OvsdbRow> PortByMacAsync(NetworkHost host, string switchName, string mac, string vm, string op, CancellationToken ct)
    {
        await SwitchOperations.RequireSwitchAsync(host, switchName, string.Empty, ct).ConfigureAwait(false);
        var ports = await new OvnVmPorts(host.Ovn).PortsAsync(switchName, vm, mac, ct).ConfigureAwait(false);
        return ports.Count switch
        {
            1 => ports[0],
            0 => throw NetworkFailures.Refused($"{op}: VM {vm} has no port with MAC {mac} on OVN switch {switchName} (only l3bridge NICs have OVN ports)."),
            _ => throw NetworkFailures.Refused($"{op}: {ports.Count} ports have MAC {mac} on OVN switch {switchName}; MACs must be unique."),
        };
    }

    /// <summary>The VM's ports on <paramref name="switchName"/> (external_ids:kubestack-vm), at least one.</summary>
    public static async Task<IReadOnlyList<OvsdbRow>> VmPortsAsync(NetworkHost host, string switchName, string vm, string op, CancellationToken ct)
    {
        await SwitchOperations.RequireSwitchAsync(host, switchName, string.Empty, ct).ConfigureAwait(false);
        var ports = await new OvnVmPorts(host.Ovn).PortsAsync(switchName, vm, null, ct).ConfigureAwait(false);
        if (ports.Count == 0) throw NetworkFailures.Refused($"{op}: VM {vm} has no l3bridge NIC on OVN switch {switchName}.");
        return ports;
    }

    public static async Task<IReadOnlyList<OvsdbRow>> SwitchRowsAsync(NetworkHost host, string switchName, string table, string column, string[] columns, CancellationToken ct)
    {
        var ls = await host.Ovn.FindSwitchAsync(switchName, ct).ConfigureAwait(false);
        return ls is null ? [] : await host.Ovn.RowsAsync(table, ls.Set(column), columns, ct).ConfigureAwait(false);
    }

    public static string Describe(OvsdbRow r) =>
        $"{r.Text("direction")} priority {r.Text("priority")} '{r.Text("match")}'" +
        (r.Text("action") is { Length: > 0 } a ? $" {a}" : string.Empty) +
        (r.Map("bandwidth") is { Count: > 0 } bw ? $" {string.Join(' ', bw.Select(kv => $"{kv.Key}={kv.Value}"))}" : string.Empty);

    public static bool Owned(OvsdbRow r, string port) => r.Map("external_ids").GetValueOrDefault(NetworkIds.Port) == port;
}
