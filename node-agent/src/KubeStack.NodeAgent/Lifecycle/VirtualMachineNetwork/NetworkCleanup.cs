using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// Finalizer cleanup of a VirtualMachineNetwork: removes the OVS bridge, OVN switch (with DHCP options, localnet port,
/// floating-IP router) and address set that this resource made (external_ids:kubestack-resource = namespace/name).
/// Objects it did not make are left alone. Nothing left is success.
/// </summary>
public sealed class NetworkCleanup(NetworkHost host) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineNetwork;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var owner = $"{context.Object.Metadata.NamespaceProperty}/{context.Object.Metadata.Name}";
        return NetworkFailures.GuardAsync($"Cleaning up network {context.Object.Metadata.Name}", context.NodeName, async () =>
        {
            var ownerCondition = new[] { NetworkIds.Key(NetworkIds.Resource) + "=" + OvsdbJson.Quote(owner) };
            var removed = new List<string>();
            try
            {
                foreach (var br in await host.Ovs.FindAsync("Bridge", ["name"], ownerCondition, cancellationToken).ConfigureAwait(false))
                {
                    await host.Ovs.TransactAsync(cancellationToken, OvsdbCommand.Of("--if-exists", "del-br", br.Text("name")!)).ConfigureAwait(false);
                    removed.Add($"OVS bridge {br.Text("name")}");
                }
            }
            catch (HostToolException ex) when (ex.IsToolMissing || ex.Stderr.Contains("database connection failed", StringComparison.OrdinalIgnoreCase))
            {
                // no Open vSwitch on this node: nothing of ours can be there
            }
            try
            {
                foreach (var ls in await host.Ovn.FindAsync("Logical_Switch", ["name"], ownerCondition, cancellationToken).ConfigureAwait(false))
                {
                    await host.Ovn.TransactAsync(await SwitchCleanup.PlanAsync(host, ls.Text("name")!, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                    removed.Add($"OVN switch {ls.Text("name")}");
                }
                foreach (var set in await host.Ovn.FindAsync("Address_Set", ["_uuid", "name"], ownerCondition, cancellationToken).ConfigureAwait(false))
                {
                    await host.Ovn.TransactAsync(cancellationToken, OvsdbCommand.Of("destroy", "Address_Set", set.Uuid)).ConfigureAwait(false);
                    removed.Add($"address set {set.Text("name")}");
                }
            }
            catch (HostToolException ex) when (ex.IsToolMissing || ex.Stderr.Contains("database connection failed", StringComparison.OrdinalIgnoreCase))
            {
                // no OVN northbound database reachable from this node
            }
            return HandlerResult.Succeeded(message: removed.Count == 0 ? "No OVS/OVN objects of this network were left." : $"Removed {string.Join(", ", removed)}.");
        });
    }
}

/// <summary>Reads the network's OVS/OVN objects for resync (spec.data; spec.type is set by the operations).</summary>
public sealed class NetworkStateReader(NetworkHost host) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineNetwork;

    public async Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var name = obj.Metadata.Name;
        if (await NetworkViews.AddressAsync(host.Ovn, AddressOperations.SetName(name), cancellationToken).ConfigureAwait(false) is { } a) return new ObservedState(a);
        if (await NetworkViews.SwitchAsync(host.Ovn, name, cancellationToken).ConfigureAwait(false) is { } s) return new ObservedState(s);
        var owner = $"{obj.Metadata.NamespaceProperty}/{name}";
        var bridges = await host.Ovs.FindAsync("Bridge", ["name"], [NetworkIds.Key(NetworkIds.Resource) + "=" + OvsdbJson.Quote(owner)], cancellationToken).ConfigureAwait(false);
        foreach (var br in bridges)
        {
            if (await NetworkViews.BridgeAsync(host.Ovs, br.Text("name")!, cancellationToken).ConfigureAwait(false) is { } b) return new ObservedState(b);
        }
        return null;
    }
}
