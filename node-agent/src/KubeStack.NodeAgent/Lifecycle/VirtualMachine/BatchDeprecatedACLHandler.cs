using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>batchDeprecatedACL: removes every ACL KubeStack put on any port of the VM, on every switch (none left is success).</summary>
public sealed class BatchDeprecatedACLHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "batchDeprecatedACL";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Deleting all ACLs of VM {context.Name}", context.NodeName, async () =>
        {
            var acls = await host.Ovn.FindAsync("ACL", OvnNbctl.AclColumns, [NetworkIds.Key(NetworkIds.Vm) + "=" + OvsdbJson.Quote(context.Name)], cancellationToken).ConfigureAwait(false);
            if (acls.Count == 0) return HandlerResult.Succeeded(message: $"VM {context.Name} has no ACLs.");
            var ids = acls.Select(a => a.Uuid).ToHashSet(StringComparer.Ordinal);
            var switches = await host.Ovn.FindAsync("Logical_Switch", ["name", "acls"], null, cancellationToken).ConfigureAwait(false);
            var cmds = switches.SelectMany(s => s.Set("acls").Where(ids.Contains).Select(a => OvsdbCommand.Of("remove", "Logical_Switch", s.Text("name")!, "acls", a))).ToList();
            if (cmds.Count > 0) await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Deleted {cmds.Count} ACL(s) of VM {context.Name}.");
        });
    }
}
