using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>deleteAddress: removes the OVN Address_Set; refused while an ACL rule still uses it ($name).</summary>
public sealed class DeleteAddressHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "deleteAddress";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Deleting address set {context.Name}", context.NodeName, async () =>
        {
            var name = AddressOperations.SetName(context.Name);
            var set = await host.Ovn.FindAddressSetAsync(name, cancellationToken).ConfigureAwait(false);
            if (set is null)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"Address set {name} is gone.");
                throw NetworkFailures.Refused($"the OVN address set {name} does not exist.");
            }
            var users = await AddressOperations.UsersAsync(host, name, cancellationToken).ConfigureAwait(false);
            if (users.Count > 0)
                throw NetworkFailures.Refused($"the address set {name} is used by {users.Count} ACL rule(s) (e.g. '{users[0].Text("match")}'); delete those ACLs first. Nothing was deleted.");
            await host.Ovn.TransactAsync(cancellationToken, OvsdbCommand.Of("destroy", "Address_Set", set.Uuid)).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Address set {name} was deleted.");
        });
    }
}
