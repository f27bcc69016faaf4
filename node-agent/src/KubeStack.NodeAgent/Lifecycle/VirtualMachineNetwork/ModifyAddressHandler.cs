using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>modifyAddress: replaces the addresses of the OVN Address_Set with the given list (ACLs using it follow at once).</summary>
public sealed class ModifyAddressHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "modifyAddress";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Modifying address set {context.Name}", context.NodeName, async () =>
        {
            var addresses = NetworkParameters.AddressList(NetworkParameters.Required(context.Parameters, "address", Key), "address", Key);
            var name = AddressOperations.SetName(context.Name);
            var set = await host.Ovn.FindAddressSetAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw NetworkFailures.Refused($"the OVN address set {name} does not exist; create it with createAddress first.");
            await host.Ovn.TransactAsync(cancellationToken, OvsdbCommand.Of("set", "Address_Set", set.Uuid, $"addresses={OvsdbJson.QuoteSet(addresses)}")).ConfigureAwait(false);
            return await AddressOperations.ViewAsync(host, name, $"Address set {name} now holds {addresses.Count} address(es).", cancellationToken).ConfigureAwait(false);
        });
    }
}
