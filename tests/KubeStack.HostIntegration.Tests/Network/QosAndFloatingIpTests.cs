using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using static KubeStack.HostIntegration.Tests.Network.NetworkLab;
using static KubeStack.HostIntegration.Tests.Network.NetworkTestKit;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>
/// setQoS/modifyQoS/unsetQoS (OVN QoS rows → northd meters; the OVS-level limit on a port bound by ovn-controller) and
/// bindFloatingIP/unbindFloatingIP (router, ports and dnat_and_snat) against the lab's OVN and Open vSwitch.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class QosAndFloatingIpTests
{
    private const string Mac = "52:54:00:b1:00:01";

    [OvnFact]
    public async Task SetQoS_makes_ovn_qos_rows_and_meters_and_the_ovs_limits_on_the_bound_port_and_unsetQoS_removes_them()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.120.0.1/24"), ("gateway", "10.120.0.1"));
        var vm = Short("vm");
        var port = await kit.VmPortAsync(vm, sw, Mac, "10.120.0.5");
        var iface = await kit.BoundInterfaceAsync(port);
        // ovn-controller binds the logical port to this chassis once the interface carries its iface-id
        await EventuallyAsync(async () => (await NbGet("Logical_Switch_Port", port, "up")) == "true", TimeSpan.FromSeconds(30), "the port to come up");
        Assert.Equal("kubestack-lab", await BoundChassis(port));

        // from (the VM sends): OVN QoS row + ingress policing on the interface
        var ok = AssertOk(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "ip", "10000", "100", null)));
        Assert.Contains("stored, not enforced", ok.Message, StringComparison.Ordinal);
        var from = Assert.Single(await NbFind("QoS", "_uuid", "direction=from-lport", $"external_ids:kubestack-port={port}"));
        Assert.Equal($"inport == \\\"{port}\\\" && (ip)", await NbGet("QoS", from, "match"));
        Assert.Equal("{burst=100, rate=10000}", await NbGet("QoS", from, "bandwidth"));
        Assert.Equal("1", await NbGet("QoS", from, "priority"));
        Assert.Equal("10000", await Sh("ovs-vsctl", "get", "Interface", iface, "ingress_policing_rate"));
        Assert.Equal("100", await Sh("ovs-vsctl", "get", "Interface", iface, "ingress_policing_burst"));
        Assert.Contains($"match=(inport == \"{port}\" && (ip)), action=(set_meter(10000, 100); next;)", await LogicalFlows(sw), StringComparison.Ordinal);

        // to (the VM receives): OVN QoS row + a linux-htb QoS on the OVS port, applied by the kernel (tc)
        AssertOk(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "to", "ip4", "2000", "50", "5")));
        var to = Assert.Single(await NbFind("QoS", "_uuid", "direction=to-lport", $"external_ids:kubestack-port={port}"));
        Assert.Equal("5", await NbGet("QoS", to, "priority"));
        Assert.Equal("linux-htb", await Sh("ovs-vsctl", "--bare", "--columns=type", "find", "QoS", $"external_ids:kubestack-port={port}"));
        await EventuallyAsync(async () => (await Sh("tc", "class", "show", "dev", iface)).Contains("ceil 2Mbit", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "tc to show the htb class of 2 Mbit/s");

        // modify: new rate on the row and on the htb class
        AssertOk(await RunAsync(new ModifyQoSHandler(kit.Host), vm, Qos(sw, "to", "ip4", "3000", "0", null)));
        Assert.Equal("{rate=3000}", await NbGet("QoS", to, "bandwidth"));
        await EventuallyAsync(async () => (await Sh("tc", "class", "show", "dev", iface)).Contains("ceil 3Mbit", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "tc to show the htb class of 3 Mbit/s");
        Assert.Single(await Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "QoS", $"external_ids:kubestack-port={port}").ContinueWith(t => t.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        // unset: rows, policing and htb go
        AssertOk(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "from", "ip", "1")));
        Assert.Empty(await NbFind("QoS", "_uuid", "direction=from-lport", $"external_ids:kubestack-port={port}"));
        Assert.Equal("0", await Sh("ovs-vsctl", "get", "Interface", iface, "ingress_policing_rate"));
        AssertOk(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "to", "ip4", "5")));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "qos_rules"));
        Assert.Equal("[]", await Sh("ovs-vsctl", "get", "Port", iface, "qos"));
        Assert.Empty(await Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "QoS", $"external_ids:kubestack-port={port}"));
    }

    [OvnFact]
    public async Task QoS_operations_refuse_duplicates_missing_switches_missing_rules_and_bad_limits_and_leave_nothing()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.121.0.1/24"), ("gateway", "10.121.0.1"));
        var vm = Short("vm");
        await kit.VmPortAsync(vm, sw, Mac, "10.121.0.5");

        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos("kst-nosuch-sw", "from", "tcp", "100", "10", null)), ErrorClasses.VirtctlError, "does not exist");
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), Short("vm"), Qos(sw, "from", "tcp", "100", "10", null)), ErrorClasses.VirtctlError, "has no l3bridge NIC");
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "0", "10", null)), ErrorClasses.VirtctlError, "rate 0");
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "1000001", "10", null)), ErrorClasses.VirtctlError, "from 0 to 1000000");
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "http", "100", "10", null)), ErrorClasses.VirtctlError, "rule must be one of");
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "100", "10", "40000")), ErrorClasses.VirtctlError, "from 0 to 32767");
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "qos_rules"));

        AssertOk(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "1,000", "10", "2")));
        Assert.Equal("{burst=10, rate=1000}", await NbGet("QoS", Assert.Single(await NbFind("QoS", "_uuid", $"external_ids:kubestack-vm={vm}")), "bandwidth"));
        AssertFailed(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "500", "10", "2")), ErrorClasses.VirtctlError, "use modifyQoS");
        AssertOk(await RunAsync(new SetQoSHandler(kit.Host), vm, Qos(sw, "from", "tcp", "1000", "10", "2"), attempt: 2));
        Assert.Single(await NbFind("QoS", "_uuid", $"external_ids:kubestack-vm={vm}"));

        AssertFailed(await RunAsync(new ModifyQoSHandler(kit.Host), vm, Qos(sw, "to", "tcp", "500", "10", null)), ErrorClasses.VirtctlError, "add it with setQoS first");
        AssertFailed(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "from", "tcp", "3")), ErrorClasses.VirtctlError, "at priority 3");
        AssertFailed(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "from", "udp", "2")), ErrorClasses.VirtctlError, "for udp");
        AssertFailed(await RunAsync(new UnsetQoSHandler(kit.Host), vm, P(("swName", sw), ("vmmac", Mac), ("type", "from"), ("rule", "tcp"))), ErrorClasses.VirtctlError, "priority is required");
        Assert.Single(await NbFind("QoS", "_uuid", $"external_ids:kubestack-vm={vm}"));
        AssertOk(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "from", "tcp", "2")));
        AssertOk(await RunAsync(new UnsetQoSHandler(kit.Host), vm, Unset(sw, "from", "tcp", "2"), attempt: 2));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "qos_rules"));
    }

    [OvnFact]
    public async Task BindFloatingIP_makes_the_router_ports_and_nat_and_unbind_removes_them_without_disturbing_other_floating_ips()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        var ext = Short("ex");
        await kit.SwitchAsync(sw, ("subnet", "10.122.0.1/24"), ("gateway", "10.122.0.1"));
        await kit.SwitchAsync(ext, ("subnet", "172.31.5.1/24"), ("gateway", "172.31.5.1"));
        var vm1 = Short("vm");
        var vm2 = Short("vm");
        await kit.VmPortAsync(vm1, sw, Mac, "10.122.0.5");
        await kit.VmPortAsync(vm2, sw, "52:54:00:b1:00:02", "10.122.0.6");
        var router = "lr-" + sw;

        var ok = AssertOk(await RunAsync(new BindFloatingIPHandler(kit.Host), vm1, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.5.50/24"))));
        Assert.Contains(router, ok.Message, StringComparison.Ordinal);
        Assert.Equal("dnat_and_snat 172.31.5.50 10.122.0.5", await Nat(router));
        Assert.Equal("[\"10.122.0.1/24\"]", await Sh("ovn-nbctl", "get", "Logical_Router_Port", $"{router}-{sw}", "networks"));
        Assert.Equal("[\"172.31.5.50/24\"]", await Sh("ovn-nbctl", "get", "Logical_Router_Port", $"{router}-{ext}", "networks"));
        Assert.Equal("kubestack-lab", await Sh("ovn-nbctl", "--bare", "--columns=chassis_name", "find", "Gateway_Chassis", $"name={router}-{ext}-kubestack-lab"));
        Assert.Equal("router", await NbGet("Logical_Switch_Port", $"{sw}-{router}", "type"));
        Assert.Equal($"{router}-{ext}", await NbGet("Logical_Switch_Port", $"{ext}-{router}", "options:router-port"));
        Assert.Contains("0.0.0.0/0", await Sh("ovn-nbctl", "lr-route-list", router), StringComparison.Ordinal);
        Assert.Contains("172.31.5.1", await Sh("ovn-nbctl", "lr-route-list", router), StringComparison.Ordinal);
        Assert.Contains("ct_dnat_in_czone(10.122.0.5)", await LogicalFlows(router), StringComparison.Ordinal);

        // a second VM's floating IP reuses the router and its ports
        AssertOk(await RunAsync(new BindFloatingIPHandler(kit.Host), vm2, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.5.51"))));
        Assert.Equal("dnat_and_snat 172.31.5.50 10.122.0.5|dnat_and_snat 172.31.5.51 10.122.0.6", await Nat(router));
        Assert.Equal(2, (await Sh("ovn-nbctl", "lrp-list", router)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // unbinding the first keeps the second (and its router); the external port gives up the unbound address
        AssertOk(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm1, P(("swName", sw), ("vmmac", Mac), ("fip", "172.31.5.50"), ("vmip", "10.122.0.5"))));
        Assert.Equal("dnat_and_snat 172.31.5.51 10.122.0.6", await Nat(router));
        Assert.Equal("[\"172.31.5.51/24\"]", await Sh("ovn-nbctl", "get", "Logical_Router_Port", $"{router}-{ext}", "networks"));
        var flows = await LogicalFlows(router);
        Assert.Contains("ct_dnat_in_czone(10.122.0.6)", flows, StringComparison.Ordinal);
        Assert.DoesNotContain("ct_dnat_in_czone(10.122.0.5)", flows, StringComparison.Ordinal);

        // the last one removes the router and the switch ports made for it; both switches stay
        AssertOk(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm2, P(("swName", sw), ("vmmac", "52:54:00:b1:00:02"), ("fip", "172.31.5.51"), ("vmip", "10.122.0.6"))));
        Assert.Empty(await NbFind("Logical_Router", "name", $"name={router}"));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", "type=router", $"options:router-port=\"{router}-{ext}\""));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", "type=router", $"options:router-port=\"{router}-{sw}\""));
        Assert.Single(await NbFind("Logical_Switch", "name", $"name={ext}"));
        Assert.Equal(2, (await NbFind("Logical_Switch_Port", "name", $"external_ids:kubestack-vm={vm1}")).Count + (await NbFind("Logical_Switch_Port", "name", $"external_ids:kubestack-vm={vm2}")).Count);
    }

    [OvnFact]
    public async Task Floating_ip_operations_refuse_duplicates_foreign_subnets_missing_switches_and_vms_without_a_fixed_ip_and_leave_nothing()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        var ext = Short("ex");
        await kit.SwitchAsync(sw, ("subnet", "10.123.0.1/24"), ("gateway", "10.123.0.1"));
        await kit.SwitchAsync(ext, ("subnet", "172.31.6.1/24"), ("gateway", "172.31.6.1"));
        var vm = Short("vm");
        var dyn = Short("vm");
        await kit.VmPortAsync(vm, sw, Mac, "10.123.0.5");
        await kit.VmPortAsync(dyn, sw, "52:54:00:b1:00:03", null);
        var router = "lr-" + sw;
        async Task NoRouter() => Assert.Empty(await NbFind("Logical_Router", "name", $"name={router}"));

        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", "kst-nosuch-ex"), ("fip", "172.31.6.50"))), ErrorClasses.VirtctlError, "does not exist");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", "kst-nosuch-sw"), ("outSwName", ext), ("fip", "172.31.6.50"))), ErrorClasses.VirtctlError, "does not exist");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "192.0.2.50"))), ErrorClasses.VirtctlError, "not inside the subnet 172.31.6.0/24");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.50/40"))), ErrorClasses.VirtctlError, "prefix 1-32");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", sw), ("fip", "172.31.6.50"))), ErrorClasses.VirtctlError, "must differ");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), dyn, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.50"))), ErrorClasses.VirtctlError, "no l3bridge NIC with a fixed IP");
        await NoRouter();
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", "type=router"));

        AssertOk(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.50"))));
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.50"))), ErrorClasses.VirtctlError, "already bound");
        AssertFailed(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.51"))), ErrorClasses.VirtctlError, "already has a floating IP");
        AssertOk(await RunAsync(new BindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("outSwName", ext), ("fip", "172.31.6.50")), attempt: 2));
        Assert.Equal("dnat_and_snat 172.31.6.50 10.123.0.5", await Nat(router));

        AssertFailed(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("vmmac", Mac), ("fip", "172.31.6.99"), ("vmip", "10.123.0.5"))), ErrorClasses.VirtctlError, "is not bound");
        AssertFailed(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("vmmac", Mac), ("fip", "172.31.6.50"), ("vmip", "10.123.0.9"))), ErrorClasses.VirtctlError, "does not have the IP 10.123.0.9");
        AssertFailed(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("vmmac", "52:54:00:b1:00:99"), ("fip", "172.31.6.50"), ("vmip", "10.123.0.5"))), ErrorClasses.VirtctlError, "no port with MAC");
        Assert.Equal("dnat_and_snat 172.31.6.50 10.123.0.5", await Nat(router));
        AssertOk(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("vmmac", Mac), ("fip", "172.31.6.50"), ("vmip", "10.123.0.5"))));
        AssertOk(await RunAsync(new UnbindFloatingIPHandler(kit.Host), vm, P(("swName", sw), ("vmmac", Mac), ("fip", "172.31.6.50"), ("vmip", "10.123.0.5")), attempt: 2));
        await NoRouter();
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", "type=router"));
    }

    /// <summary>The chassis name of the southbound Port_Binding of a logical port (ovn-controller wrote it).</summary>
    public static async Task<string> BoundChassis(string port)
    {
        var chassis = await Sh("ovn-sbctl", "--timeout=10", "--bare", "--columns=chassis", "find", "Port_Binding", $"logical_port={port}");
        return (await Sh("ovn-sbctl", "--timeout=10", "get", "Chassis", chassis, "name")).Trim('"');
    }

    /// <summary>The router's NAT rules as "type external logical", sorted, joined with '|'.</summary>
    private static async Task<string> Nat(string router)
    {
        var uuids = (await Sh("ovn-nbctl", "get", "Logical_Router", router, "nat")).Trim('[', ']').Split(", ", StringSplitOptions.RemoveEmptyEntries);
        var rows = new List<string>();
        foreach (var u in uuids)
            rows.Add($"{await NbGet("NAT", u, "type")} {await NbGet("NAT", u, "external_ip")} {await NbGet("NAT", u, "logical_ip")}");
        return string.Join("|", rows.Order(StringComparer.Ordinal));
    }

    private static System.Text.Json.Nodes.JsonObject Qos(string sw, string type, string rule, string rate, string burst, string? priority)
    {
        var p = P(("swName", sw), ("type", type), ("rule", rule), ("rate", rate), ("burst", burst));
        if (priority is not null) p["priority"] = priority;
        return p;
    }

    private static System.Text.Json.Nodes.JsonObject Unset(string sw, string type, string rule, string priority) =>
        P(("swName", sw), ("vmmac", Mac), ("type", type), ("rule", rule), ("priority", priority));
}
