using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>unbindPortVlan: removes the VLAN tag of the VM's OVS port (found by MAC); when <c>vlan</c> is given the port must carry it.</summary>
public sealed class UnbindPortVlanHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "unbindPortVlan";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Unbinding the VLAN of a VM port for {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var mac = NetworkParameters.Mac(p, "mac", Key);
            var domain = NetworkParameters.Required(p, "domain", Key);
            var vlan = NetworkParameters.Integer(p, "vlan", Key, 0, 4094);
            var (port, _) = await BridgeOperations.FindVmPortAsync(host, mac, domain, context.NodeName, cancellationToken).ConfigureAwait(false);
            var bridge = await VlanPorts.BridgeOfPortAsync(host, port, cancellationToken).ConfigureAwait(false);
            var tag = (await host.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false)).First(x => x.Text("name") == port).Integer("tag");
            if (tag is null && context.Attempt == 1)
                throw NetworkFailures.Refused($"port {port} of VM {domain} (MAC {mac}) has no VLAN; nothing was changed.");
            if (vlan is { } v && tag is { } t && t != v)
                throw NetworkFailures.Refused($"port {port} of VM {domain} (MAC {mac}) is on VLAN {t}, not VLAN {v}; nothing was changed.");
            await host.Ovs.TransactAsync(NetworkPlans.SetPortTag(port, null), cancellationToken).ConfigureAwait(false);
            return await BridgeOperations.ViewAsync(host, bridge, $"Port {port} of VM {domain} (MAC {mac}) has no VLAN on OVS bridge {bridge} on node {context.NodeName}.",
                cancellationToken).ConfigureAwait(false);
        });
    }
}
