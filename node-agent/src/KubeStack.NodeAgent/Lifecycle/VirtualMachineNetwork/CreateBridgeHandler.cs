using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// createBridge: an OVS bridge (datapath_type=netdev) that takes over the host NIC <c>nic</c> as a port, with the
/// optional VLAN tag on the bridge's own port — one ovs-vsctl transaction. The NIC carrying the host's default route
/// is refused (the host would lose its connectivity) unless the object has the annotation
/// <c>doslab.io/allow-default-route-nic: "true"</c>. An existing bridge of that name is a duplicate, except on a resumed
/// attempt that finds exactly what it would have made.
/// </summary>
public sealed class CreateBridgeHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "createBridge";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Creating OVS bridge for {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var name = BridgeOperations.BridgeName(context, Key);
            var nic = NetworkParameters.Required(p, "nic", Key);
            var vlan = NetworkParameters.Integer(p, "vlan", Key, 0, 4094);
            var node = context.NodeName;

            var existing = await host.Ovs.FindBridgeAsync(name, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                var ids = existing.Map("external_ids");
                if (context.Attempt > 1 && ids.GetValueOrDefault(NetworkIds.Nic) == nic && ids.GetValueOrDefault(NetworkIds.Resource) == NetworkParameters.Owner(context))
                    return await BridgeOperations.ViewAsync(host, name, $"OVS bridge {name} with NIC {nic} exists on node {node} (made by an earlier attempt).", cancellationToken).ConfigureAwait(false);
                throw NetworkFailures.Refused($"an OVS bridge named {name} already exists on node {node}; delete it or choose another name.");
            }
            if (!host.NicExists(nic))
                throw NetworkFailures.Refused($"the NIC {nic} does not exist on node {node} (no {host.SysClassNet}/{nic}); nothing was created.");
            var allow = context.Object.Metadata.Annotations?.TryGetValue(BridgeOperations.AllowDefaultRouteAnnotation, out var a) == true && a == "true";
            if (host.DefaultRouteNics().Contains(nic) && !allow)
                throw NetworkFailures.Refused($"the NIC {nic} carries the default route of node {node}; taking it over would cut the host off. " +
                    $"Use another NIC, or set the annotation {BridgeOperations.AllowDefaultRouteAnnotation}: \"true\" when the host is reachable otherwise.");
            var ports = await host.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false);
            if (ports.Any(pt => pt.Text("name") == nic))
                throw NetworkFailures.Refused($"the NIC {nic} is already a port of another OVS bridge on node {node}; nothing was created.");

            await host.Ovs.TransactAsync(NetworkPlans.CreateBridge(name, nic, vlan, NetworkParameters.Owner(context)), cancellationToken).ConfigureAwait(false);
            return await BridgeOperations.ViewAsync(host, name, $"OVS bridge {name} (netdev datapath) took over NIC {nic} on node {node}" +
                (vlan is { } v ? $", VLAN {v}." : "."), cancellationToken).ConfigureAwait(false);
        });
    }
}
