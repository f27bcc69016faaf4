using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// setQoS: an OVN QoS rule per port of the VM on swName, limiting traffic of the protocol <c>rule</c> in direction
/// from/to to <c>rate</c> kbps with <c>burst</c> kbps (priority 0-32767, default 1); see <see cref="VmQos"/> for the
/// OVS side. The same direction, protocol and priority on a port is a duplicate (use modifyQoS).
/// </summary>
public sealed class SetQoSHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "setQoS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Setting QoS of VM {context.Name}", context.NodeName, async () =>
        {
            var r = VmQos.Parse(context, Key, needsLimits: true, priorityRequired: false);
            var ports = (await VmNetworkOperations.VmPortsAsync(host, r.Switch, context.Name, Key, cancellationToken).ConfigureAwait(false)).Select(p => p.Text("name")!).ToList();
            var existing = await VmQos.RulesAsync(host, r, ports, byPriority: true, cancellationToken).ConfigureAwait(false);
            if (existing.Count > 0)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"QoS {VmNetworkOperations.Describe(existing[0])} exists (made by an earlier attempt).");
                throw NetworkFailures.Refused($"VM {context.Name} already has the QoS rule {VmNetworkOperations.Describe(existing[0])}; use modifyQoS to change it.");
            }
            await host.Ovn.TransactAsync(ports.SelectMany(port => NetworkPlans.AddQos(r.Switch, context.Name, port, r.Type, r.Protocol, r.Rate, r.Burst, r.Priority)
                .Select(c => Rename(c, port))), cancellationToken).ConfigureAwait(false);
            var made = await VmQos.RulesAsync(host, r, ports, byPriority: true, cancellationToken).ConfigureAwait(false);
            var policing = await VmQos.PolicingAsync(host, r, ports, clear: false, cancellationToken).ConfigureAwait(false);
            if (policing.Count > 0)
            {
                try
                {
                    await host.Ovs.TransactAsync(policing, cancellationToken).ConfigureAwait(false);
                }
                catch (HostToolException)
                {
                    // two databases: undo the OVN rows so a failure leaves nothing half-made
                    await host.Ovn.TransactAsync(made.Select(q => OvsdbCommand.Of("remove", "Logical_Switch", r.Switch, "qos_rules", q.Uuid)), CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
            }
            return HandlerResult.Succeeded(message: $"QoS set on VM {context.Name}: {string.Join("; ", made.Select(VmNetworkOperations.Describe))}" +
                VmQos.Describe(r, policing.Count, clear: false) + ".");
        });
    }

    /// <summary>Several rules in one transaction need distinct @names.</summary>
    private static OvsdbCommand Rename(OvsdbCommand c, string port)
    {
        var id = "@qos_" + new string(port.Where(char.IsAsciiLetterOrDigit).ToArray());
        return new OvsdbCommand(c.Words.Select(w => w == "--id=@qos" ? "--id=" + id : w == "@qos" ? id : w).ToList());
    }
}
