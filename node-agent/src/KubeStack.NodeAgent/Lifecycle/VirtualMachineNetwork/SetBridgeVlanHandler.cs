using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>setBridgeVlan: sets the VLAN tag of the OVS bridge's own (internal) port; VM ports bound without a VLAN use it.</summary>
public sealed class SetBridgeVlanHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "setBridgeVlan";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Setting the VLAN of OVS bridge {context.Name}", context.NodeName, async () =>
        {
            var name = BridgeOperations.BridgeName(context, Key);
            var vlan = NetworkParameters.Integer(context.Parameters, "vlan", Key, 0, 4094)
                ?? throw NetworkFailures.Refused($"{Key}.vlan is required and missing; nothing was changed.");
            await BridgeOperations.RequireBridgeAsync(host, name, context.NodeName, cancellationToken).ConfigureAwait(false);
            await host.Ovs.TransactAsync(NetworkPlans.SetPortTag(name, vlan), cancellationToken).ConfigureAwait(false);
            return await BridgeOperations.ViewAsync(host, name, $"OVS bridge {name} has VLAN {vlan} on node {context.NodeName}.", cancellationToken).ConfigureAwait(false);
        });
    }
}
