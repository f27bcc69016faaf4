using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// bindFloatingIP: a dnat_and_snat rule fip → the VM's fixed IP on the logical router <c>lr-SWNAME</c> between the VM's
/// switch and the external switch, made with the router, its two ports (the VM switch's gateway address; the floating
/// IP's address with the given or the external subnet's prefix) and a default route to the external switch's gateway
/// when they are missing — one transaction. The port on the external switch gets this node's chassis as gateway
/// chassis when ovn-controller runs here. A floating IP already bound on that router is a duplicate.
/// </summary>
public sealed class BindFloatingIPHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "bindFloatingIP";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Binding a floating IP to VM {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var sw = NetworkParameters.Required(p, "swName", Key);
            var outSw = NetworkParameters.Required(p, "outSwName", Key);
            var fipText = NetworkParameters.Required(p, "fip", Key);
            if (sw == outSw) throw NetworkFailures.Refused($"{Key}.outSwName must differ from swName ({sw}); nothing was changed.");
            string fip;
            int? fipPrefix = null;
            if (fipText.Contains('/', StringComparison.Ordinal))
            {
                if (!NetworkFormats.TryParseCidr(fipText, out _, out var pr) || pr is < 1 or > 32)
                    throw NetworkFailures.Refused($"{Key}.fip must be an IPv4 address with an optional /prefix 1-32, not '{fipText}'; nothing was changed.");
                fip = fipText[..fipText.IndexOf('/', StringComparison.Ordinal)];
                fipPrefix = pr;
            }
            else
            {
                fip = NetworkParameters.Ipv4(p, "fip", Key, required: true);
            }

            var ports = await VmNetworkOperations.VmPortsAsync(host, sw, context.Name, Key, cancellationToken).ConfigureAwait(false);
            var fixedIps = ports.SelectMany(x => x.Set("addresses")).Select(a => a.Split(' ')).Where(a => a.Length > 1 && NetworkFormats.IsIpv4(a[1])).Select(a => a[1]).Distinct().ToList();
            if (fixedIps.Count != 1)
                throw NetworkFailures.Refused($"VM {context.Name} has {(fixedIps.Count == 0 ? "no l3bridge NIC with a fixed IP" : $"{fixedIps.Count} fixed IPs")} on switch {sw}; a floating IP needs exactly one (plugNIC ip=...).");
            var vmIp = fixedIps[0];
            var inner = await SwitchOperations.DhcpOfAsync(host, sw, cancellationToken).ConfigureAwait(false)
                ?? throw NetworkFailures.Refused($"OVN switch {sw} has no gateway (it was not made by createSwitch); nothing was changed.");
            var outer = await SwitchOperations.RequireSwitchAsync(host, outSw, context.NodeName, cancellationToken).ConfigureAwait(false);
            var outerDhcp = await SwitchOperations.DhcpOfAsync(host, outSw, cancellationToken).ConfigureAwait(false);
            var outerCidr = outer.Map("other_config").GetValueOrDefault("subnet") ?? outerDhcp?.Text("cidr")
                ?? throw NetworkFailures.Refused($"the external switch {outSw} has no subnet; create it with createSwitch.");
            var outerSubnet = Ipv4Subnet.Parse(outerCidr);
            NetworkFormats.TryParseIpv4(fip, out var fipAddress);
            if (!outerSubnet.Contains(fipAddress))
                throw NetworkFailures.Refused($"{Key}.fip {fip} is not inside the subnet {outerSubnet.NetworkCidr} of the external switch {outSw}; nothing was changed.");
            var innerSubnet = Ipv4Subnet.Parse(inner.Text("cidr")!);
            var gateway = inner.Map("options").GetValueOrDefault("router")!;

            var routerName = NetworkPlans.Router(sw);
            var router = await host.Ovn.FindRouterAsync(routerName, cancellationToken).ConfigureAwait(false);
            var rports = router is null ? [] : await host.Ovn.RowsAsync("Logical_Router_Port", router.Set("ports"), OvnNbctl.RouterPortColumns, cancellationToken).ConfigureAwait(false);
            var nats = router is null ? [] : await host.Ovn.RowsAsync("NAT", router.Set("nat"), OvnNbctl.NatColumns, cancellationToken).ConfigureAwait(false);
            var dup = nats.FirstOrDefault(n => n.Text("external_ip") == fip);
            if (dup is not null)
            {
                if (context.Attempt > 1 && dup.Text("logical_ip") == vmIp)
                    return HandlerResult.Succeeded(message: $"Floating IP {fip} → {vmIp} is bound on router {routerName} (made by an earlier attempt).");
                throw NetworkFailures.Refused($"the floating IP {fip} is already bound to {dup.Text("logical_ip")} on router {routerName}; unbind it first.");
            }
            if (nats.Any(n => n.Text("logical_ip") == vmIp && n.Text("type") == "dnat_and_snat"))
                throw NetworkFailures.Refused($"VM {context.Name} ({vmIp}) already has a floating IP on router {routerName}; unbind it first.");

            string? chassis = null;
            try
            {
                var ovsRow = (await host.Ovs.FindAsync("Open_vSwitch", ["external_ids"], null, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
                chassis = ovsRow?.Map("external_ids").GetValueOrDefault("system-id");
            }
            catch (HostToolException)
            {
                // no local Open vSwitch: the router port has no gateway chassis (distributed NAT needs one to answer ARP)
            }
            var innerPort = NetworkPlans.RouterPort(routerName, sw);
            var outerPort = NetworkPlans.RouterPort(routerName, outSw);
            var outerGateway = outerDhcp?.Map("options").GetValueOrDefault("router");
            var plan = new FloatingIpPlan(
                Owner: $"{context.Namespace}/{context.Name}", Router: routerName, Switch: sw, OuterSwitch: outSw, FloatingIp: fip, LogicalIp: vmIp,
                RouterExists: router is not null,
                InnerPortExists: rports.Any(r => r.Text("name") == innerPort),
                InnerMac: NetworkPlans.RouterMac(routerName, innerPort), InnerNetwork: $"{gateway}/{innerSubnet.Prefix}",
                OuterPortExists: rports.Any(r => r.Text("name") == outerPort),
                OuterMac: NetworkPlans.RouterMac(routerName, outerPort), OuterNetwork: $"{fip}/{fipPrefix ?? outerSubnet.Prefix}",
                OuterGateway: outerGateway, Chassis: chassis);
            if (router is not null && rports.Any(r => r.Text("name")!.StartsWith(routerName + "-", StringComparison.Ordinal) && r.Text("name") != innerPort && r.Text("name") != outerPort))
                throw NetworkFailures.Refused($"router {routerName} already leads to another external switch; all floating IPs of switch {sw} must use the same outSwName.");
            await host.Ovn.TransactAsync(NetworkPlans.BindFloatingIp(plan), cancellationToken).ConfigureAwait(false);
            var view = await NetworkViews.RouterAsync(host.Ovn, (await host.Ovn.FindRouterAsync(routerName, cancellationToken).ConfigureAwait(false))!, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Floating IP {fip} is bound to VM {context.Name} ({vmIp}) on router {routerName} " +
                $"({view["nat"]!.AsArray().Count} NAT rule(s), ports {string.Join(", ", view["ports"]!.AsArray().Select(x => x!["name"]!.GetValue<string>()))}).");
        });
    }
}
