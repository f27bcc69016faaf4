using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// addACL: an OVN ACL on the VM's logical port (found by MAC on swName): from → from-lport with <c>inport == "PORT"</c>,
/// to → to-lport with <c>outport == "PORT"</c>, the rule checked by the validation library's AclRule first; allow →
/// allow-related, drop → drop; priority 1-999 (default 1). The same direction, priority and rule on that port is a duplicate.
/// </summary>
public sealed class AddACLHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "addACL";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Adding an ACL to VM {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var sw = NetworkParameters.Required(p, "swName", Key);
            var mac = NetworkParameters.Mac(p, "vmmac", Key);
            var type = NetworkParameters.Enum(p, "type", Key, true, "from", "to");
            var rule = NetworkParameters.AclRuleText(p, "rule", Key, true);
            var op = NetworkParameters.Enum(p, "operator", Key, true, "allow", "drop");
            var priority = NetworkParameters.Integer(p, "priority", Key, 1, 999) ?? VmNetworkOperations.DefaultAclPriority;
            var port = (await VmNetworkOperations.PortByMacAsync(host, sw, mac, context.Name, Key, cancellationToken).ConfigureAwait(false)).Text("name")!;
            var acls = await VmNetworkOperations.SwitchRowsAsync(host, sw, "ACL", "acls", HostTools.OvnNbctl.AclColumns, cancellationToken).ConfigureAwait(false);
            var match = NetworkPlans.PortMatch(type, port, rule);
            var dup = acls.FirstOrDefault(a => a.Text("direction") == NetworkPlans.Direction(type) && a.Integer("priority") == priority && a.Text("match") == match);
            if (dup is not null)
            {
                if (context.Attempt > 1 && dup.Text("action") == NetworkPlans.AclAction(op))
                    return HandlerResult.Succeeded(message: $"ACL {VmNetworkOperations.Describe(dup)} is on port {port} (made by an earlier attempt).");
                throw NetworkFailures.Refused($"port {port} of VM {context.Name} already has the ACL {VmNetworkOperations.Describe(dup)}; use modifyACL to change it.");
            }
            await host.Ovn.TransactAsync(NetworkPlans.AddAcl(sw, context.Name, port, type, rule, op, priority), cancellationToken).ConfigureAwait(false);
            var made = (await VmNetworkOperations.SwitchRowsAsync(host, sw, "ACL", "acls", HostTools.OvnNbctl.AclColumns, cancellationToken).ConfigureAwait(false))
                .First(a => a.Text("match") == match && a.Integer("priority") == priority && a.Text("direction") == NetworkPlans.Direction(type));
            return HandlerResult.Succeeded(message: $"ACL {VmNetworkOperations.Describe(made)} was added to port {port} of VM {context.Name} on switch {sw}.");
        });
    }
}
