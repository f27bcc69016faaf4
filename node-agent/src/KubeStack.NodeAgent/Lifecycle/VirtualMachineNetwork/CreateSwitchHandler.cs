using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// createSwitch: the OVN logical switch named after the resource, with its subnet and excluded IPs
/// (other_config:subnet/exclude_ips: OVN assigns dynamic addresses outside them), DHCPv4 options (router = gateway,
/// server_id = dhcp or the gateway, dns_server, mtu, lease 3600 s) and, with <c>bridge</c>, a localnet port (network_name
/// = the bridge, tag = vlanId) — one ovn-nbctl transaction. IPv6 switches are refused (not supported on this node).
/// </summary>
public sealed class CreateSwitchHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "createSwitch";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Creating OVN switch {context.Name}", context.NodeName, async () =>
        {
            var spec = Parse(context, Key);
            var node = context.NodeName;
            var existing = await host.Ovn.FindSwitchAsync(spec.Name, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (context.Attempt > 1 && existing.Map("external_ids").GetValueOrDefault(NetworkIds.Resource) == spec.Owner)
                    return await SwitchOperations.ViewAsync(host, spec.Name, $"OVN switch {spec.Name} exists (made by an earlier attempt).", cancellationToken).ConfigureAwait(false);
                throw NetworkFailures.Refused($"an OVN logical switch named {spec.Name} already exists; delete it or choose another name.");
            }
            // a DHCP_Options row left under this switch name (its switch is gone) would be ambiguous: it goes in the same transaction
            var cmds = new List<HostTools.OvsdbCommand>();
            if (await SwitchOperations.DhcpOfAsync(host, spec.Name, cancellationToken).ConfigureAwait(false) is { } stale)
                cmds.Add(HostTools.OvsdbCommand.Of("destroy", "DHCP_Options", stale.Uuid));
            cmds.AddRange(NetworkPlans.CreateSwitch(spec));
            await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            return await SwitchOperations.ViewAsync(host, spec.Name, $"OVN switch {spec.Name} ({spec.Subnet.NetworkCidr}, gateway {spec.Gateway}) was created" +
                (spec.LocalnetBridge is { } b ? $" with a localnet port on bridge {b}." : "."), cancellationToken).ConfigureAwait(false);
        });
    }

    public static SwitchSpec Parse(RequestContext context, string op)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        if (SwitchOperations.IsIpv6(context, op))
            throw NetworkFailures.Refused($"{op}.ipv6 true is not supported on this node: KubeStack builds IPv4 switches only; nothing was created.");
        var subnetText = NetworkParameters.Required(p, "subnet", op);
        if (!NetworkFormats.TryParseCidr(subnetText, out _, out var prefix) || !NetworkFormats.SubnetPrefixes.Contains(prefix))
            throw NetworkFailures.Refused($"{op}.subnet must be an IPv4 subnet a.b.c.d/y with y 8, 16 or 24, not '{subnetText}'; nothing was created.");
        var subnet = Ipv4Subnet.Parse(subnetText);
        var gateway = NetworkParameters.Ipv4(p, "gateway", op, required: true);
        SwitchOperations.CheckInSubnet(subnet, gateway, "gateway", op);
        var dhcp = NetworkParameters.Ipv4(p, "dhcp", op, required: false);
        if (dhcp is not null) SwitchOperations.CheckInSubnet(subnet, dhcp, "dhcp", op);
        var mtu = NetworkParameters.Integer(p, "mtu", op, 68, 9000);
        var bridge = NetworkParameters.Optional(p, "bridge");
        var vlan = NetworkParameters.Integer(p, "vlanId", op, 0, 4094);
        if (vlan is not null && bridge is null)
            throw NetworkFailures.Refused($"{op}.vlanId needs {op}.bridge: the VLAN is the tag of the switch's localnet port on that bridge; nothing was created.");
        var exclude = NetworkParameters.Optional(p, "excludeIPs");
        if (exclude is not null)
        {
            var problems = new List<string>();
            var ranges = NetworkFormats.ParseExcludeList(exclude, problems);
            if (problems.Count > 0) throw NetworkFailures.Refused($"{op}.excludeIPs {string.Join("; ", problems)}; nothing was created.");
            foreach (var (from, to) in ranges)
            {
                if (!subnet.Contains(from) || !subnet.Contains(to))
                    throw NetworkFailures.Refused($"{op}.excludeIPs {Ipv4Subnet.Format(from)}..{Ipv4Subnet.Format(to)} is not inside the subnet {subnet.NetworkCidr}; nothing was created.");
            }
        }
        var dns = SwitchOperations.DnsServers(NetworkParameters.Optional(p, "dnsServer"), op);
        return new SwitchSpec(context.Name, NetworkParameters.Owner(context), subnet, gateway, dhcp, mtu, dns, exclude, bridge, vlan);
    }
}
