using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>delBridgeVlan: clears the VLAN tag of the OVS bridge's own port; the tag must be the given <c>vlan</c>.</summary>
public sealed class DelBridgeVlanHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "delBridgeVlan";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Removing the VLAN of OVS bridge {context.Name}", context.NodeName, async () =>
        {
            var name = BridgeOperations.BridgeName(context, Key);
            var vlan = NetworkParameters.Integer(context.Parameters, "vlan", Key, 0, 4094)
                ?? throw NetworkFailures.Refused($"{Key}.vlan is required and missing; nothing was changed.");
            await BridgeOperations.RequireBridgeAsync(host, name, context.NodeName, cancellationToken).ConfigureAwait(false);
            var port = (await host.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false)).First(p => p.Text("name") == name);
            var tag = port.Integer("tag");
            if (tag is null && context.Attempt > 1)
                return await BridgeOperations.ViewAsync(host, name, $"OVS bridge {name} has no VLAN on node {context.NodeName}.", cancellationToken).ConfigureAwait(false);
            if (tag != vlan)
                throw NetworkFailures.Refused($"OVS bridge {name} has {(tag is null ? "no VLAN" : $"VLAN {tag}")}, not VLAN {vlan}; nothing was changed.");
            await host.Ovs.TransactAsync(NetworkPlans.SetPortTag(name, null), cancellationToken).ConfigureAwait(false);
            return await BridgeOperations.ViewAsync(host, name, $"OVS bridge {name} no longer has VLAN {vlan} on node {context.NodeName}.", cancellationToken).ConfigureAwait(false);
        });
    }
}
