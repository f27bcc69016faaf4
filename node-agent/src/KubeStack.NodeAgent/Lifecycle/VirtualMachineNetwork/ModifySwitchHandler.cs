using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// modifySwitch: changes exactly what it is given — gateway (DHCP router option and the excluded gateway address),
/// mtu, dnsServer, dhcp (the DHCP server address), vlanId (the tag of the localnet port) — in one transaction; every
/// other setting stays as it is. A request that gives nothing to change is refused.
/// </summary>
public sealed class ModifySwitchHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "modifySwitch";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Modifying OVN switch {context.Name}", context.NodeName, async () =>
        {
            var p = context.Parameters;
            var name = context.Name;
            if (SwitchOperations.IsIpv6(context, Key))
                throw NetworkFailures.Refused($"{Key}.ipv6 true is not supported on this node: KubeStack builds IPv4 switches only; nothing was changed.");
            var gateway = NetworkParameters.Ipv4(p, "gateway", Key, required: false);
            var mtu = NetworkParameters.Integer(p, "mtu", Key, 68, 9000);
            var dnsText = NetworkParameters.Optional(p, "dnsServer");
            var dns = SwitchOperations.DnsServers(dnsText, Key);
            var dhcpIp = NetworkParameters.Ipv4(p, "dhcp", Key, required: false);
            var vlan = NetworkParameters.Integer(p, "vlanId", Key, 0, 4094);
            if (gateway is null && mtu is null && dnsText is null && dhcpIp is null && vlan is null)
                throw NetworkFailures.Refused($"{Key} needs at least one of gateway, mtu, dnsServer, dhcp, vlanId; nothing was changed.");

            var ls = await SwitchOperations.RequireSwitchAsync(host, name, context.NodeName, cancellationToken).ConfigureAwait(false);
            var dhcp = await SwitchOperations.DhcpOfAsync(host, name, cancellationToken).ConfigureAwait(false)
                ?? throw NetworkFailures.Refused($"OVN switch {name} has no DHCP options made by createSwitch; nothing was changed.");
            var subnet = Ipv4Subnet.Parse(dhcp.Text("cidr")!);
            var cmds = new List<OvsdbCommand>();
            var options = new List<string>();
            if (gateway is not null)
            {
                SwitchOperations.CheckInSubnet(subnet, gateway, "gateway", Key);
                var old = dhcp.Map("options").GetValueOrDefault("router");
                var exclude = (ls.Map("other_config").GetValueOrDefault("exclude_ips") ?? string.Empty)
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(x => x != old).Append(gateway).Distinct(StringComparer.Ordinal);
                cmds.Add(OvsdbCommand.Of("set", "Logical_Switch", name, $"other_config:exclude_ips={OvsdbJson.Quote(string.Join(' ', exclude))}"));
                options.Add($"options:router={OvsdbJson.Quote(gateway)}");
            }
            if (dhcpIp is not null)
            {
                SwitchOperations.CheckInSubnet(subnet, dhcpIp, "dhcp", Key);
                options.Add($"options:server_id={OvsdbJson.Quote(dhcpIp)}");
            }
            if (mtu is { } m) options.Add($"options:mtu={OvsdbJson.Quote(NetworkParameters.Num(m))}");
            if (dnsText is not null) options.Add($"options:dns_server={OvsdbJson.Quote("{" + string.Join(", ", dns) + "}")}");
            if (options.Count > 0) cmds.Add(new OvsdbCommand(["set", "DHCP_Options", dhcp.Uuid, .. options]));
            if (vlan is { } v)
            {
                var ln = NetworkPlans.LocalnetPort(name);
                var ports = await host.Ovn.RowsAsync("Logical_Switch_Port", ls.Set("ports"), OvnNbctl.PortColumns, cancellationToken).ConfigureAwait(false);
                if (!ports.Any(x => x.Text("name") == ln))
                    throw NetworkFailures.Refused($"{Key}.vlanId needs a switch attached to a bridge (createSwitch bridge=...); OVN switch {name} has no localnet port. Nothing was changed.");
                cmds.Add(v == 0 ? OvsdbCommand.Of("clear", "Logical_Switch_Port", ln, "tag") : OvsdbCommand.Of("set", "Logical_Switch_Port", ln, $"tag={NetworkParameters.Num(v)}"));
            }
            await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            return await SwitchOperations.ViewAsync(host, name, $"OVN switch {name} was modified.", cancellationToken).ConfigureAwait(false);
        });
    }
}
