using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>createAddress: an OVN Address_Set (name: see <see cref="AddressOperations.SetName"/>) with the given IPv4 addresses/subnets.</summary>
public sealed class CreateAddressHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "createAddress";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Creating address set {context.Name}", context.NodeName, async () =>
        {
            var addresses = NetworkParameters.AddressList(NetworkParameters.Required(context.Parameters, "address", Key), "address", Key);
            var name = AddressOperations.SetName(context.Name);
            var owner = NetworkParameters.Owner(context);
            var existing = await host.Ovn.FindAddressSetAsync(name, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (context.Attempt > 1 && existing.Map("external_ids").GetValueOrDefault(NetworkIds.Resource) == owner)
                    return await AddressOperations.ViewAsync(host, name, $"Address set {name} exists (made by an earlier attempt).", cancellationToken).ConfigureAwait(false);
                throw NetworkFailures.Refused($"an OVN address set named {name} already exists; delete it or choose another name.");
            }
            await host.Ovn.TransactAsync(cancellationToken, OvsdbCommand.Of("create", "Address_Set", $"name={OvsdbJson.Quote(name)}",
                $"addresses={OvsdbJson.QuoteSet(addresses)}", NetworkIds.Pair(NetworkIds.Resource, owner))).ConfigureAwait(false);
            return await AddressOperations.ViewAsync(host, name, $"Address set {name} with {addresses.Count} address(es) was created; use it as ${name} in ACL rules.",
                cancellationToken).ConfigureAwait(false);
        });
    }
}
