using System.Globalization;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Builders;

/// <summary>external_ids keys KubeStack writes on the OVS/OVN rows it makes (ownership, lookup, cleanup).</summary>
public static class NetworkIds
{
    /// <summary>namespace/name of the KubeStack resource that created the row.</summary>
    public const string Resource = "kubestack-resource";
    /// <summary>The VM (domain name) a logical port, ACL, QoS rule or NAT belongs to.</summary>
    public const string Vm = "kubestack-vm";
    /// <summary>The logical switch port an ACL/QoS rule applies to.</summary>
    public const string Port = "kubestack-port";
    /// <summary>The rule as the user wrote it (without the port prefix): how modify/delete find ACLs and QoS rules.</summary>
    public const string Rule = "kubestack-rule";
    /// <summary>The switch a DHCP_Options row or router belongs to.</summary>
    public const string Switch = "kubestack-switch";
    /// <summary>The host NIC a bridge took over.</summary>
    public const string Nic = "kubestack-nic";

    public static string Key(string id) => $"external_ids:{id}";

    public static string Pair(string id, string value) => $"external_ids:{id}={OvsdbJson.Quote(value)}";
}

/// <summary>An IPv4 subnet read from a.b.c.d/p (host bits allowed, as in the catalog's 192.168.5.1/24).</summary>
public readonly record struct Ipv4Subnet(uint Address, int Prefix)
{
    public uint Network => Prefix == 0 ? 0 : Address & (uint.MaxValue << (32 - Prefix));

    public string NetworkCidr => $"{Format(Network)}/{Prefix.ToString(CultureInfo.InvariantCulture)}";

    public bool Contains(uint ip) => NetworkFormats.Contains(Network, Prefix, ip);

    public static string Format(uint a) => string.Create(CultureInfo.InvariantCulture, $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}");

    public static Ipv4Subnet Parse(string cidr) =>
        NetworkFormats.TryParseCidr(cidr, out var a, out var p) ? new Ipv4Subnet(a, p) : throw new FormatException($"'{cidr}' is not an IPv4 subnet a.b.c.d/p");
}

/// <summary>What createSwitch makes (validated values).</summary>
public sealed record SwitchSpec(
    string Name,
    string Owner,
    Ipv4Subnet Subnet,
    string Gateway,
    string? DhcpServer,
    int? Mtu,
    IReadOnlyList<string> DnsServers,
    string? ExcludeIps,
    string? LocalnetBridge,
    int? VlanId);

/// <summary>
/// Pure plans of ovn-nbctl / ovs-vsctl commands (one transaction each) for the network operations: the handlers run
/// them, the golden tests compare them. Names derived here are the contract for reading the objects back.
/// </summary>
public static class NetworkPlans
{
    /// <summary>The DHCP server MAC OVN answers with (a locally administered address, the same for every switch).</summary>
    public const string DhcpServerMac = "0a:58:0a:00:00:01";
    public const int LeaseTimeSeconds = 3600;

    /// <summary>The localnet port of a switch attached to a bridge.</summary>
    public static string LocalnetPort(string switchName) => $"ln-{switchName}";

    /// <summary>The logical router that carries the floating IPs of VMs on <paramref name="switchName"/>.</summary>
    public static string Router(string switchName) => $"lr-{switchName}";

    /// <summary>The router port facing <paramref name="switchName"/> and its peer switch port.</summary>
    public static string RouterPort(string routerName, string switchName) => $"{routerName}-{switchName}";

    public static string SwitchRouterPort(string routerName, string switchName) => $"{switchName}-{routerName}";

    // ------------------------------------------------------------------ bridges (ovs-vsctl)

    /// <summary>createBridge: the bridge (netdev datapath, always: the kernel datapath is missing on our hosts), the NIC as a port, the bridge's VLAN.</summary>
    public static IReadOnlyList<OvsdbCommand> CreateBridge(string bridge, string nic, int? vlan, string owner)
    {
        var cmds = new List<OvsdbCommand>
        {
            OvsdbCommand.Of("add-br", bridge),
            OvsdbCommand.Of("set", "Bridge", bridge, "datapath_type=netdev", NetworkIds.Pair(NetworkIds.Resource, owner), NetworkIds.Pair(NetworkIds.Nic, nic)),
            OvsdbCommand.Of("add-port", bridge, nic),
        };
        if (vlan is { } v) cmds.Add(OvsdbCommand.Of("set", "Port", bridge, $"tag={v.ToString(CultureInfo.InvariantCulture)}"));
        return cmds;
    }

    public static IReadOnlyList<OvsdbCommand> SetPortTag(string port, int? vlan) =>
        vlan is { } v
            ? [OvsdbCommand.Of("set", "Port", port, $"tag={v.ToString(CultureInfo.InvariantCulture)}")]
            : [OvsdbCommand.Of("clear", "Port", port, "tag")];

    // ------------------------------------------------------------------ switches (ovn-nbctl)

    /// <summary>createSwitch: the logical switch with its subnet and excluded IPs, the DHCPv4 options, and the optional localnet port.</summary>
    public static IReadOnlyList<OvsdbCommand> CreateSwitch(SwitchSpec s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var exclude = new List<string> { s.Gateway };
        if (s.DhcpServer is { } d && d != s.Gateway) exclude.Add(d);
        if (!string.IsNullOrWhiteSpace(s.ExcludeIps)) exclude.AddRange(s.ExcludeIps.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var cmds = new List<OvsdbCommand>
        {
            OvsdbCommand.Of("ls-add", s.Name),
            OvsdbCommand.Of("set", "Logical_Switch", s.Name,
                $"other_config:subnet={OvsdbJson.Quote(s.Subnet.NetworkCidr)}",
                $"other_config:exclude_ips={OvsdbJson.Quote(string.Join(' ', exclude))}",
                NetworkIds.Pair(NetworkIds.Resource, s.Owner)),
        };
        var dhcp = new List<string>
        {
            "--id=@dhcp", "create", "DHCP_Options", $"cidr={OvsdbJson.Quote(s.Subnet.NetworkCidr)}",
            $"options:router={OvsdbJson.Quote(s.Gateway)}",
            $"options:server_id={OvsdbJson.Quote(s.DhcpServer ?? s.Gateway)}",
            $"options:server_mac={OvsdbJson.Quote(DhcpServerMac)}",
            $"options:lease_time={OvsdbJson.Quote(LeaseTimeSeconds.ToString(CultureInfo.InvariantCulture))}",
        };
        if (s.DnsServers.Count > 0) dhcp.Add($"options:dns_server={OvsdbJson.Quote("{" + string.Join(", ", s.DnsServers) + "}")}");
        if (s.Mtu is { } mtu) dhcp.Add($"options:mtu={OvsdbJson.Quote(mtu.ToString(CultureInfo.InvariantCulture))}");
        dhcp.Add(NetworkIds.Pair(NetworkIds.Switch, s.Name));
        cmds.Add(new OvsdbCommand(dhcp));
        if (s.LocalnetBridge is { } br)
        {
            var ln = LocalnetPort(s.Name);
            cmds.Add(OvsdbCommand.Of("lsp-add", s.Name, ln));
            cmds.Add(OvsdbCommand.Of("lsp-set-type", ln, "localnet"));
            cmds.Add(OvsdbCommand.Of("lsp-set-addresses", ln, "unknown"));
            cmds.Add(OvsdbCommand.Of("lsp-set-options", ln, $"network_name={br}"));
            if (s.VlanId is { } tag && tag > 0) cmds.Add(OvsdbCommand.Of("set", "Logical_Switch_Port", ln, $"tag={tag.ToString(CultureInfo.InvariantCulture)}"));
        }
        return cmds;
    }

    // ------------------------------------------------------------------ ACL and QoS

    /// <summary>The OVN direction of the catalog's from/to: from = traffic the VM sends (from-lport), to = traffic it receives.</summary>
    public static string Direction(string type) => type switch
    {
        "from" => "from-lport",
        "to" => "to-lport",
        _ => throw new ArgumentException($"the direction must be from or to, not '{type}'", nameof(type)),
    };

    /// <summary>The match on the VM's port: <c>inport == "P" &amp;&amp; (rule)</c> for from, <c>outport == "P" &amp;&amp; (rule)</c> for to.</summary>
    public static string PortMatch(string type, string port, string rule) =>
        $"{(type == "from" ? "inport" : "outport")} == {OvsdbJson.Quote(port)} && ({rule})";

    /// <summary>The OVN action of allow/drop (allow is stateful: replies of allowed connections pass).</summary>
    public static string AclAction(string op) => op switch
    {
        "allow" => "allow-related",
        "drop" => "drop",
        _ => throw new ArgumentException($"the action must be allow or drop, not '{op}'", nameof(op)),
    };

    public static IReadOnlyList<OvsdbCommand> AddAcl(string switchName, string vm, string port, string type, string rule, string op, int priority) =>
    [
        OvsdbCommand.Of("--id=@acl", "create", "ACL",
            $"direction={Direction(type)}", $"priority={priority.ToString(CultureInfo.InvariantCulture)}",
            $"match={OvsdbJson.Quote(PortMatch(type, port, rule))}", $"action={AclAction(op)}",
            NetworkIds.Pair(NetworkIds.Vm, vm), NetworkIds.Pair(NetworkIds.Port, port), NetworkIds.Pair(NetworkIds.Rule, rule)),
        OvsdbCommand.Of("add", "Logical_Switch", switchName, "acls", "@acl"),
    ];

    /// <summary>setQoS: an OVN QoS rule limiting the VM port's traffic of one protocol; rate and burst in kbps as OVN counts them.</summary>
    public static IReadOnlyList<OvsdbCommand> AddQos(string switchName, string vm, string port, string type, string protocol, long rateKbps, long burstKbps, int priority)
    {
        var words = new List<string>
        {
            "--id=@qos", "create", "QoS", $"direction={Direction(type)}", $"priority={priority.ToString(CultureInfo.InvariantCulture)}",
            $"match={OvsdbJson.Quote(PortMatch(type, port, protocol))}",
            $"bandwidth:rate={rateKbps.ToString(CultureInfo.InvariantCulture)}",
        };
        if (burstKbps > 0) words.Add($"bandwidth:burst={burstKbps.ToString(CultureInfo.InvariantCulture)}");
        words.AddRange([NetworkIds.Pair(NetworkIds.Vm, vm), NetworkIds.Pair(NetworkIds.Port, port), NetworkIds.Pair(NetworkIds.Rule, protocol)]);
        return [new OvsdbCommand(words), OvsdbCommand.Of("add", "Logical_Switch", switchName, "qos_rules", "@qos")];
    }

    // ------------------------------------------------------------------ floating IPs

    /// <summary>
    /// The router between the VM's switch and the external switch, with the ports it lacks: a port on the VM's switch
    /// with the switch's gateway address, a port on the external switch with the floating IP's address (it answers
    /// ARP for it), a default route to the external gateway; then the dnat_and_snat rule.
    /// </summary>
    public static IReadOnlyList<OvsdbCommand> BindFloatingIp(FloatingIpPlan p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var cmds = new List<OvsdbCommand>();
        if (!p.RouterExists)
        {
            cmds.Add(OvsdbCommand.Of("lr-add", p.Router));
            cmds.Add(OvsdbCommand.Of("set", "Logical_Router", p.Router, NetworkIds.Pair(NetworkIds.Switch, p.Switch), NetworkIds.Pair(NetworkIds.Resource, p.Owner)));
        }
        if (!p.InnerPortExists)
        {
            var lrp = RouterPort(p.Router, p.Switch);
            var lsp = SwitchRouterPort(p.Router, p.Switch);
            cmds.Add(OvsdbCommand.Of("lrp-add", p.Router, lrp, p.InnerMac, p.InnerNetwork));
            cmds.AddRange(RouterSwitchPort(p.Switch, lsp, lrp));
        }
        if (!p.OuterPortExists)
        {
            var lrp = RouterPort(p.Router, p.OuterSwitch);
            var lsp = SwitchRouterPort(p.Router, p.OuterSwitch);
            cmds.Add(OvsdbCommand.Of("lrp-add", p.Router, lrp, p.OuterMac, p.OuterNetwork));
            if (p.Chassis is { } chassis) cmds.Add(OvsdbCommand.Of("lrp-set-gateway-chassis", lrp, chassis, "10"));
            cmds.AddRange(RouterSwitchPort(p.OuterSwitch, lsp, lrp));
            if (p.OuterGateway is { } gw) cmds.Add(OvsdbCommand.Of("--may-exist", "lr-route-add", p.Router, "0.0.0.0/0", gw));
        }
        cmds.Add(OvsdbCommand.Of("lr-nat-add", p.Router, "dnat_and_snat", p.FloatingIp, p.LogicalIp));
        return cmds;
    }

    private static IEnumerable<OvsdbCommand> RouterSwitchPort(string sw, string lsp, string lrp) =>
    [
        OvsdbCommand.Of("lsp-add", sw, lsp),
        OvsdbCommand.Of("lsp-set-type", lsp, "router"),
        OvsdbCommand.Of("lsp-set-addresses", lsp, "router"),
        OvsdbCommand.Of("lsp-set-options", lsp, $"router-port={lrp}"),
    ];

    /// <summary>A MAC for a router port, stable per router and port name (locally administered, 0a:...).</summary>
    public static string RouterMac(string router, string port)
    {
        var h = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(router + "/" + port));
        return string.Create(CultureInfo.InvariantCulture, $"0a:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}:{h[3]:x2}:{h[4]:x2}");
    }
}

/// <summary>What bindFloatingIP must make, given what exists already.</summary>
public sealed record FloatingIpPlan(
    string Owner,
    string Router,
    string Switch,
    string OuterSwitch,
    string FloatingIp,
    string LogicalIp,
    bool RouterExists,
    bool InnerPortExists,
    string InnerMac,
    string InnerNetwork,
    bool OuterPortExists,
    string OuterMac,
    string OuterNetwork,
    string? OuterGateway,
    string? Chassis);
