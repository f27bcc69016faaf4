using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// bindPortVlan: puts the VM's OVS port (found by the NIC's MAC, which libvirt writes as external_ids:attached-mac)
/// on VLAN <c>vlan</c> (an access port); without <c>vlan</c>, the VLAN of the bridge the port is on (setBridgeVlan).
/// </summary>
public sealed class BindPortVlanHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "bindPortVlan";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Binding a VLAN to a VM port for {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var mac = NetworkParameters.Mac(p, "mac", Key);
            var domain = NetworkParameters.Required(p, "domain", Key);
            var vlan = NetworkParameters.Integer(p, "vlan", Key, 0, 4094);
            var (port, _) = await BridgeOperations.FindVmPortAsync(host, mac, domain, context.NodeName, cancellationToken).ConfigureAwait(false);
            var bridge = await VlanPorts.BridgeOfPortAsync(host, port, cancellationToken).ConfigureAwait(false);
            if (vlan is null)
            {
                var ports = await host.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false);
                vlan = (int?)ports.FirstOrDefault(x => x.Text("name") == bridge)?.Integer("tag")
                    ?? throw NetworkFailures.Refused($"{Key}.vlan is missing and OVS bridge {bridge} has no VLAN (setBridgeVlan); nothing was changed.");
            }
            await host.Ovs.TransactAsync(NetworkPlans.SetPortTag(port, vlan), cancellationToken).ConfigureAwait(false);
            return await BridgeOperations.ViewAsync(host, bridge, $"Port {port} of VM {domain} (MAC {mac}) is on VLAN {vlan} of OVS bridge {bridge} on node {context.NodeName}.",
                cancellationToken).ConfigureAwait(false);
        });
    }
}

/// <summary>Helpers for VM ports on OVS bridges.</summary>
public static class VlanPorts
{
    public static async Task<string> BridgeOfPortAsync(NetworkHost host, string port, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        var ports = await host.Ovs.ListPortsAsync(ct).ConfigureAwait(false);
        var uuid = ports.First(p => p.Text("name") == port).Uuid;
        var bridges = await host.Ovs.FindAsync("Bridge", ["name", "ports"], null, ct).ConfigureAwait(false);
        return bridges.First(b => b.Set("ports").Contains(uuid)).Text("name")!;
    }
}
