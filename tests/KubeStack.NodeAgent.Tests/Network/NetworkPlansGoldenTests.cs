using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Formats;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Tests.Builders;

namespace KubeStack.NodeAgent.Tests.Network;

/// <summary>
/// Golden files of the network plans (<c>Network/testassets/&lt;case&gt;.txt</c>: the ovs-vsctl/ovn-nbctl arguments of
/// one transaction, one command per line) and of the NIC XML of the three NIC types as VM create builds them
/// (<c>nics-three-types.xml</c>, schema-checked inside a domain). <c>UPDATE_GOLDEN=1</c> rewrites the files (review the diff).
/// </summary>
public class NetworkPlansGoldenTests
{
    private static readonly SwitchSpec FullSwitch = new(
        "switch11", "default/switch11", Ipv4Subnet.Parse("192.168.5.1/24"), "192.168.5.1", "192.168.5.5", 1400,
        ["192.168.5.5", "8.8.8.8"], "192.168.5.2 192.168.5.10..192.168.5.100", "br-ex", 42);

    private static readonly Dictionary<string, Func<IReadOnlyList<OvsdbCommand>>> Plans = new()
    {
        ["create-bridge-vlan"] = () => NetworkPlans.CreateBridge("br-native", "eth1", 100, "default/br-native"),
        ["set-port-tag"] = () => NetworkPlans.SetPortTag("vnet3", 300),
        ["clear-port-tag"] = () => NetworkPlans.SetPortTag("vnet3", null),
        ["create-switch-full"] = () => NetworkPlans.CreateSwitch(FullSwitch),
        ["create-switch-minimal"] = () => NetworkPlans.CreateSwitch(FullSwitch with
        {
            DhcpServer = null, Mtu = null, DnsServers = [], ExcludeIps = null, LocalnetBridge = null, VlanId = null,
        }),
        ["add-acl-from-drop"] = () => NetworkPlans.AddAcl("switch11", "vm1", "port-1", "from", "ip4.src == $dmz && tcp.dst == 3306", "drop", 100),
        ["add-acl-to-allow"] = () => NetworkPlans.AddAcl("switch11", "vm1", "port-1", "to", "icmp4", "allow", 1),
        ["add-qos-from"] = () => NetworkPlans.AddQos("switch11", "vm1", "port-1", "from", "ip", 10000, 100, 2),
        ["add-qos-to-no-burst"] = () => NetworkPlans.AddQos("switch11", "vm1", "port-1", "to", "tcp", 500, 0, 1),
        ["bind-floating-ip-new-router"] = () => NetworkPlans.BindFloatingIp(Fip(routerExists: false)),
        ["bind-floating-ip-existing-router"] = () => NetworkPlans.BindFloatingIp(Fip(routerExists: true)),
    };

    public static TheoryData<string> PlanCases => new(Plans.Keys);

    [Theory]
    [MemberData(nameof(PlanCases))]
    public void Plan_is_the_golden_transaction(string name)
    {
        var args = OvnNbctl.Default.TransactionArguments(Plans[name]());
        // one line per command: the words after each "--" separator, tab-separated
        var lines = string.Join('\t', args).Split("\t--\t", StringSplitOptions.None);
        AssertGolden(name + ".txt", string.Join('\n', lines) + "\n");
    }

    [Fact]
    public void Plans_are_pure_and_one_transaction_each()
    {
        foreach (var (name, plan) in Plans)
        {
            Assert.Equal(plan().Select(c => c.ToString()), plan().Select(c => c.ToString()));
            var args = OvnNbctl.Default.TransactionArguments(plan());
            Assert.Equal("--timeout=10", args[0]);
            Assert.True(args.Count(a => a == "--") == plan().Count, $"{name}: every command is a part of the one transaction");
        }
    }

    [Fact]
    public void Switch_plan_excludes_gateway_and_dhcp_server_and_quotes_the_dns_list()
    {
        var set = NetworkPlans.CreateSwitch(FullSwitch)[1].Words;
        Assert.Contains("other_config:exclude_ips=\"192.168.5.1 192.168.5.5 192.168.5.2 192.168.5.10..192.168.5.100\"", set);
        Assert.Contains("other_config:subnet=\"192.168.5.0/24\"", set);
        Assert.Contains(NetworkPlans.CreateSwitch(FullSwitch)[2].Words, w => w == "options:dns_server=\"{192.168.5.5, 8.8.8.8}\"");
    }

    [Fact]
    public void Acl_match_quotes_the_port_and_keeps_the_rule_in_parentheses()
    {
        Assert.Equal("inport == \"p\\\"x\" && (tcp || udp)", NetworkPlans.PortMatch("from", "p\"x", "tcp || udp"));
        Assert.Equal("outport == \"p\" && (ip4)", NetworkPlans.PortMatch("to", "p", "ip4"));
        Assert.Throws<ArgumentException>(() => NetworkPlans.Direction("both"));
        Assert.Throws<ArgumentException>(() => NetworkPlans.AclAction("reject"));
    }

    [Fact]
    public void Router_mac_is_stable_and_locally_administered()
    {
        Assert.Equal(NetworkPlans.RouterMac("lr-a", "p"), NetworkPlans.RouterMac("lr-a", "p"));
        Assert.NotEqual(NetworkPlans.RouterMac("lr-a", "p"), NetworkPlans.RouterMac("lr-a", "q"));
        Assert.StartsWith("0a:", NetworkPlans.RouterMac("lr-a", "p"), StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ NIC XML of the three NIC types

    private static DomainBuildResult ThreeNicDomain() => DomainXmlBuilder.Build("vm-nics",
        VmCreateParameters.Parse(new JsonObject
        {
            ["disk"] = "/var/lib/libvirt/images/vm-nics.qcow2",
            ["memory"] = "512",
            ["vcpus"] = "1",
            ["network"] = "type=bridge,source=virbr0,model=e1000,inbound=2048,outbound=1024 --network type=l2bridge,source=br-native,mac=52:54:00:12:34:56 "
                + "--network type=l3bridge,source=br-int,ip=192.168.5.20,switch=switch11,mac=52:54:00:12:34:57",
            ["graphics"] = "vnc,listen=127.0.0.1",
            ["os_variant"] = "linux2022",
            ["noautoconsole"] = "true",
        }, VmCreateKind.FromImage),
        new NodeDomainSettings("qemu", "/usr/bin/qemu-system-x86_64", "pc"), Guid.Parse("5b0c0ffe-0000-4000-8000-000000000001"));

    [Fact]
    public void Nics_of_the_three_types_build_the_golden_xml()
    {
        var interfaces = ThreeNicDomain().Document.Descendants("interface").ToList();
        Assert.Equal(3, interfaces.Count);
        AssertGolden("nics-three-types.xml", new XElement("devices", interfaces).ToString() + "\n");
    }

    [Fact]
    public void L3bridge_nic_carries_the_interfaceid_that_names_its_ovn_port()
    {
        var built = ThreeNicDomain();
        var l3 = Assert.Single(built.Nics, n => n.Type == NicType.L3Bridge);
        Assert.Equal("switch11", l3.Switch);
        Assert.Equal("192.168.5.20", l3.Ip);
        Assert.Equal([l3.InterfaceId!], OvnVmPorts.InterfaceIds(built.Xml));
        Assert.Null(Assert.Single(built.Nics, n => n.Type == NicType.L2Bridge).InterfaceId);
    }

    [RequiresToolFact("virt-xml-validate")]
    public async Task Nics_of_the_three_types_pass_libvirts_domain_schema()
    {
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-nics-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, ThreeNicDomain().Xml);
        try
        {
            var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", file, "domain");
            Assert.True(exitCode == 0, $"virt-xml-validate rejected the three-NIC domain:\n{output}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static FloatingIpPlan Fip(bool routerExists) => new(
        Owner: "default/vm1", Router: "lr-switch11", Switch: "switch11", OuterSwitch: "ext1", FloatingIp: "172.16.0.50", LogicalIp: "192.168.5.20",
        RouterExists: routerExists, InnerPortExists: routerExists, InnerMac: "0a:00:00:00:00:01", InnerNetwork: "192.168.5.1/24",
        OuterPortExists: routerExists, OuterMac: "0a:00:00:00:00:02", OuterNetwork: "172.16.0.50/24", OuterGateway: "172.16.0.1", Chassis: "chassis-1");

    private static string AssetDir([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "testassets");

    private static void AssertGolden(string file, string actual)
    {
        var path = Path.Combine(AssetDir(), file);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with UPDATE_GOLDEN=1.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }
}
