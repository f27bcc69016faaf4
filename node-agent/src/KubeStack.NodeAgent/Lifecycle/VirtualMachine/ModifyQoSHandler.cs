using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// modifyQoS: the VM's QoS rules on swName with this direction and protocol (and priority, when given) get the new
/// rate and burst; no such rule is an error.
/// </summary>
public sealed class ModifyQoSHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "modifyQoS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Modifying QoS of VM {context.Name}", context.NodeName, async () =>
        {
            var r = VmQos.Parse(context, Key, needsLimits: true, priorityRequired: false);
            var byPriority = NetworkParameters.Optional(context.Parameters, "priority") is not null;
            var ports = (await VmNetworkOperations.VmPortsAsync(host, r.Switch, context.Name, Key, cancellationToken).ConfigureAwait(false)).Select(p => p.Text("name")!).ToList();
            var rules = await VmQos.RulesAsync(host, r, ports, byPriority, cancellationToken).ConfigureAwait(false);
            if (rules.Count == 0)
                throw NetworkFailures.Refused($"VM {context.Name} has no {r.Type} QoS rule for {r.Protocol}{(byPriority ? $" at priority {r.Priority}" : string.Empty)} on switch {r.Switch}; add it with setQoS first.");
            var burst = r.Burst > 0 ? $"bandwidth:burst={NetworkParameters.Num(r.Burst)}" : null;
            var cmds = rules.Select(q => burst is null
                ? OvsdbCommand.Of("set", "QoS", q.Uuid, $"bandwidth:rate={NetworkParameters.Num(r.Rate)}")
                : OvsdbCommand.Of("set", "QoS", q.Uuid, $"bandwidth:rate={NetworkParameters.Num(r.Rate)}", burst)).ToList();
            if (burst is null) cmds.AddRange(rules.Select(q => OvsdbCommand.Of("remove", "QoS", q.Uuid, "bandwidth", "burst")));
            await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            var policing = await VmQos.PolicingAsync(host, r, ports, clear: false, cancellationToken).ConfigureAwait(false);
            if (policing.Count > 0) await host.Ovs.TransactAsync(policing, cancellationToken).ConfigureAwait(false);
            var now = await VmQos.RulesAsync(host, r, ports, byPriority, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"QoS of VM {context.Name} is now: {string.Join("; ", now.Select(VmNetworkOperations.Describe))}" +
                VmQos.Describe(r, policing.Count, clear: false) + ".");
        });
    }
}
