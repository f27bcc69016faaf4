using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// deprecatedACL: removes the ACLs KubeStack put on the VM's port (found by MAC on swName) that match the given
/// filters — type, rule, priority, each optional (none given: every ACL of that port). Nothing matching is an error.
/// </summary>
public sealed class DeprecatedACLHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "deprecatedACL";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Deleting ACLs of VM {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var sw = NetworkParameters.Required(p, "swName", Key);
            var mac = NetworkParameters.Mac(p, "vmmac", Key);
            var type = NetworkParameters.Enum(p, "type", Key, false, "from", "to");
            var rule = NetworkParameters.AclRuleText(p, "rule", Key, false);
            var priority = NetworkParameters.Integer(p, "priority", Key, 1, 999);
            var port = (await VmNetworkOperations.PortByMacAsync(host, sw, mac, context.Name, Key, cancellationToken).ConfigureAwait(false)).Text("name")!;
            var acls = (await VmNetworkOperations.SwitchRowsAsync(host, sw, "ACL", "acls", OvnNbctl.AclColumns, cancellationToken).ConfigureAwait(false))
                .Where(a => VmNetworkOperations.Owned(a, port))
                .Where(a => type is null || a.Text("direction") == NetworkPlans.Direction(type))
                .Where(a => rule is null || a.Map("external_ids").GetValueOrDefault(NetworkIds.Rule) == rule)
                .Where(a => priority is null || a.Integer("priority") == priority).ToList();
            if (acls.Count == 0)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"No matching ACL is left on port {port}.");
                throw NetworkFailures.Refused($"port {port} of VM {context.Name} has no ACL matching {Filters(type, rule, priority)}; nothing was deleted.");
            }
            await host.Ovn.TransactAsync(acls.Select(a => OvsdbCommand.Of("remove", "Logical_Switch", sw, "acls", a.Uuid)), cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Deleted {acls.Count} ACL(s) of port {port} of VM {context.Name}: {string.Join("; ", acls.Select(VmNetworkOperations.Describe))}.");
        });
    }

    private static string Filters(string? type, string? rule, int? priority)
    {
        var f = new List<string>();
        if (type is not null) f.Add($"type {type}");
        if (rule is not null) f.Add($"rule '{rule}'");
        if (priority is not null) f.Add($"priority {priority}");
        return f.Count == 0 ? "anything" : string.Join(", ", f);
    }
}
