using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// unbindFloatingIP: removes the dnat_and_snat rule fip → vmip from the router of swName (the VM port with vmmac must
/// hold vmip). Other floating IPs stay (the external router port moves to one of their addresses when it held the
/// unbound one); when none is left, the router and its switch ports made by bindFloatingIP go too.
/// </summary>
public sealed class UnbindFloatingIPHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "unbindFloatingIP";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Unbinding a floating IP from VM {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var sw = NetworkParameters.Required(p, "swName", Key);
            var mac = NetworkParameters.Mac(p, "vmmac", Key);
            var fip = NetworkParameters.Ipv4(p, "fip", Key, required: true);
            var vmIp = NetworkParameters.Ipv4(p, "vmip", Key, required: true);
            var port = await VmNetworkOperations.PortByMacAsync(host, sw, mac, context.Name, Key, cancellationToken).ConfigureAwait(false);
            if (!port.Set("addresses").Any(a => a.Split(' ').Skip(1).Contains(vmIp)))
                throw NetworkFailures.Refused($"the port of VM {context.Name} with MAC {mac} does not have the IP {vmIp} ({string.Join(", ", port.Set("addresses"))}); nothing was changed.");
            var routerName = NetworkPlans.Router(sw);
            var router = await host.Ovn.FindRouterAsync(routerName, cancellationToken).ConfigureAwait(false);
            var nats = router is null ? [] : await host.Ovn.RowsAsync("NAT", router.Set("nat"), OvnNbctl.NatColumns, cancellationToken).ConfigureAwait(false);
            var nat = nats.FirstOrDefault(n => n.Text("external_ip") == fip && n.Text("type") == "dnat_and_snat");
            if (nat is null)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"Floating IP {fip} is not bound on switch {sw}.");
                throw NetworkFailures.Refused($"the floating IP {fip} is not bound on switch {sw} (router {routerName}); nothing was changed.");
            }
            if (nat.Text("logical_ip") != vmIp)
                throw NetworkFailures.Refused($"the floating IP {fip} is bound to {nat.Text("logical_ip")}, not to {vmIp}; nothing was changed.");
            var cmds = new List<OvsdbCommand> { OvsdbCommand.Of("lr-nat-del", routerName, "dnat_and_snat", fip) };
            var last = nats.Count == 1;
            if (last)
            {
                var rps = (await host.Ovn.RowsAsync("Logical_Router_Port", router!.Set("ports"), OvnNbctl.RouterPortColumns, cancellationToken).ConfigureAwait(false))
                    .Select(r => r.Text("name")).ToHashSet(StringComparer.Ordinal);
                var peers = await host.Ovn.FindAsync("Logical_Switch_Port", ["name", "options"], ["type=router"], cancellationToken).ConfigureAwait(false);
                cmds.AddRange(peers.Where(x => rps.Contains(x.Map("options").GetValueOrDefault("router-port") ?? string.Empty)).Select(x => OvsdbCommand.Of("--if-exists", "lsp-del", x.Text("name")!)));
                cmds.Add(OvsdbCommand.Of("lr-del", routerName));
            }
            else
            {
                // the external router port carries the first floating IP's address (it answers ARP for it): hand that
                // address to a floating IP that stays, so the unbound one is released
                var next = nats.First(n => n.Uuid != nat.Uuid).Text("external_ip")!;
                var rps = await host.Ovn.RowsAsync("Logical_Router_Port", router!.Set("ports"), OvnNbctl.RouterPortColumns, cancellationToken).ConfigureAwait(false);
                foreach (var rp in rps)
                {
                    var networks = rp.Set("networks");
                    if (networks.Count == 1 && networks[0].StartsWith(fip + "/", StringComparison.Ordinal))
                        cmds.Add(OvsdbCommand.Of("set", "Logical_Router_Port", rp.Uuid, $"networks={OvsdbJson.Quote(next + networks[0][fip.Length..])}"));
                }
            }
            await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Floating IP {fip} was unbound from VM {context.Name} ({vmIp})" +
                (last ? $"; router {routerName} had no other floating IP and was removed with its ports." : $"; {nats.Count - 1} other floating IP(s) stay on router {routerName}."));
        });
    }
}
