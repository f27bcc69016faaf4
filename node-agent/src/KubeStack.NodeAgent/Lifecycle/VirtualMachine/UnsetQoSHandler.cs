using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>unsetQoS: removes the QoS rule of the VM port with this MAC, direction, protocol and priority (and the OVS-level limit of an ip/ip4 rule, see VmQos).</summary>
public sealed class UnsetQoSHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "unsetQoS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Removing QoS of VM {context.Name}", context.NodeName, async () =>
        {
            var r = VmQos.Parse(context, Key, needsLimits: false, priorityRequired: true);
            var mac = NetworkParameters.Mac(context.Parameters, "vmmac", Key);
            var port = (await VmNetworkOperations.PortByMacAsync(host, r.Switch, mac, context.Name, Key, cancellationToken).ConfigureAwait(false)).Text("name")!;
            var rules = await VmQos.RulesAsync(host, r, [port], byPriority: true, cancellationToken).ConfigureAwait(false);
            if (rules.Count == 0)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"No such QoS rule is left on port {port}.");
                throw NetworkFailures.Refused($"port {port} of VM {context.Name} has no {r.Type} QoS rule for {r.Protocol} at priority {r.Priority}; nothing was removed.");
            }
            await host.Ovn.TransactAsync(rules.Select(q => OvsdbCommand.Of("remove", "Logical_Switch", r.Switch, "qos_rules", q.Uuid)), cancellationToken).ConfigureAwait(false);
            var policing = await VmQos.PolicingAsync(host, r, [port], clear: true, cancellationToken).ConfigureAwait(false);
            if (policing.Count > 0) await host.Ovs.TransactAsync(policing, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Removed QoS {string.Join("; ", rules.Select(VmNetworkOperations.Describe))} from port {port} of VM {context.Name}" +
                VmQos.Describe(r, policing.Count, clear: true) + ".");
        });
    }
}
