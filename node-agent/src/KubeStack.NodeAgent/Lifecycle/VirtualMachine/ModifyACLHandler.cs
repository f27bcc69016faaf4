using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// modifyACL: the VM port's ACL with this direction and rule (as written in addACL) gets the given action and
/// priority (priority kept when not given). No such ACL is an error.
/// </summary>
public sealed class ModifyACLHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "modifyACL";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Modifying an ACL of VM {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var sw = NetworkParameters.Required(p, "swName", Key);
            var mac = NetworkParameters.Mac(p, "vmmac", Key);
            var type = NetworkParameters.Enum(p, "type", Key, true, "from", "to");
            var rule = NetworkParameters.AclRuleText(p, "rule", Key, true);
            var op = NetworkParameters.Enum(p, "operator", Key, true, "allow", "drop");
            var priority = NetworkParameters.Integer(p, "priority", Key, 1, 999);
            var port = (await VmNetworkOperations.PortByMacAsync(host, sw, mac, context.Name, Key, cancellationToken).ConfigureAwait(false)).Text("name")!;
            var match = NetworkPlans.PortMatch(type, port, rule);
            var acls = (await VmNetworkOperations.SwitchRowsAsync(host, sw, "ACL", "acls", OvnNbctl.AclColumns, cancellationToken).ConfigureAwait(false))
                .Where(a => a.Text("direction") == NetworkPlans.Direction(type) && a.Text("match") == match).ToList();
            if (acls.Count == 0)
                throw NetworkFailures.Refused($"port {port} of VM {context.Name} has no {type} ACL with the rule '{rule}'; add it with addACL first.");
            var sets = new List<string> { $"action={NetworkPlans.AclAction(op)}" };
            if (priority is { } pr) sets.Add($"priority={NetworkParameters.Num(pr)}");
            await host.Ovn.TransactAsync(acls.Select(a => new OvsdbCommand(["set", "ACL", a.Uuid, .. sets])), cancellationToken).ConfigureAwait(false);
            var now = (await VmNetworkOperations.SwitchRowsAsync(host, sw, "ACL", "acls", OvnNbctl.AclColumns, cancellationToken).ConfigureAwait(false))
                .Where(a => acls.Any(o => o.Uuid == a.Uuid)).Select(VmNetworkOperations.Describe);
            return HandlerResult.Succeeded(message: $"ACL(s) of port {port} of VM {context.Name} are now: {string.Join("; ", now)}.");
        });
    }
}
