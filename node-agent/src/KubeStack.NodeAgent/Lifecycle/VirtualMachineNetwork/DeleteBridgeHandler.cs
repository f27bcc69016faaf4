using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// deleteBridge: removes the OVS bridge <c>name</c> (and with it its ports) after checking that <c>nic</c> is its
/// port. A missing bridge is an error on the first attempt and success on a resumed one.
/// </summary>
public sealed class DeleteBridgeHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "deleteBridge";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Deleting OVS bridge for {context.Name}", context.NodeName, async () =>
        {
            var name = BridgeOperations.BridgeName(context, Key);
            var nic = NetworkParameters.Required(context.Parameters, "nic", Key);
            var br = await host.Ovs.FindBridgeAsync(name, cancellationToken).ConfigureAwait(false);
            if (br is null)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"OVS bridge {name} is gone from node {context.NodeName}.");
                throw NetworkFailures.Refused($"the OVS bridge {name} does not exist on node {context.NodeName}.");
            }
            var portIds = br.Set("ports").ToHashSet(StringComparer.Ordinal);
            var portNames = (await host.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false)).Where(p => portIds.Contains(p.Uuid)).Select(p => p.Text("name")).ToList();
            if (!portNames.Contains(nic))
                throw NetworkFailures.Refused($"the NIC {nic} is not a port of OVS bridge {name} (its ports: {string.Join(", ", portNames)}); nothing was deleted.");
            await host.Ovs.TransactAsync(cancellationToken, OvsdbCommand.Of("--if-exists", "del-br", name)).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"OVS bridge {name} was deleted from node {context.NodeName}; NIC {nic} is released.");
        });
    }
}
