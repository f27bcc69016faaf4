using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using static KubeStack.HostIntegration.Tests.Network.NetworkTestKit;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>The OVS bridge operations against the lab's ovs-vswitchd (netdev datapath), asserted through ovs-vsctl reads.</summary>
[Collection(NetworkCollection.Name)]
public sealed class BridgeTests
{
    [OvsFact]
    public async Task CreateBridge_takes_over_the_nic_with_the_netdev_datapath_and_vlan_and_deleteBridge_removes_it()
    {
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        var nic = await kit.VethAsync(NetworkLab.Short("n"));
        kit.Bridge(br);

        var ok = AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic), ("vlan", "100"))));

        Assert.Equal("netdev", await NetworkLab.Sh("ovs-vsctl", "get", "bridge", br, "datapath_type"));
        Assert.Equal(br, await NetworkLab.Sh("ovs-vsctl", "port-to-br", nic));
        Assert.Equal("100", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));
        Assert.Equal("[]", await NetworkLab.Sh("ovs-vsctl", "get", "interface", br, "error"));
        Assert.Equal(NetworkViews.TypeBridge, ok.ExtraSpec!["type"]!.GetValue<string>());
        var ports = ok.View!["bridgeInfo"]!["ports"]!.AsArray();
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == nic);
        Assert.Contains(ports, p => p!["name"]!.GetValue<string>() == br && p["vlan"]!.GetValue<string>() == "100");

        // a second create is a duplicate; a resumed attempt converges
        AssertFailed(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))), ErrorClasses.VirtctlError, "already exists");
        AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic)), attempt: 2));

        AssertOk(await RunAsync(new DeleteBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))));
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);
        AssertFailed(await RunAsync(new DeleteBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))), ErrorClasses.VirtctlError, "does not exist");
    }

    [OvsFact]
    public async Task CreateBridge_refuses_a_missing_nic_and_the_default_route_nic_and_leaves_nothing()
    {
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        kit.Bridge(br);
        AssertFailed(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", "kst-nonic0"))), ErrorClasses.VirtctlError, "does not exist");
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);

        // the default-route NIC, seen through a route table that names our veth
        var nic = await kit.VethAsync(NetworkLab.Short("n"));
        var routes = Path.GetTempFileName();
        kit.OnDispose(() => { File.Delete(routes); return Task.CompletedTask; });
        await File.WriteAllTextAsync(routes, $"Iface\tDestination\tGateway\n{nic}\t00000000\t0100000A\n");
        var host = new NetworkHost { ProcNetRoute = routes };
        AssertFailed(await RunAsync(new CreateBridgeHandler(host), br, P(("name", br), ("nic", nic))), ErrorClasses.VirtctlError, "default route");
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);
        // explicitly allowed by the annotation
        AssertOk(await RunAsync(new CreateBridgeHandler(host), br, P(("name", br), ("nic", nic)),
            annotations: new Dictionary<string, string> { [BridgeOperations.AllowDefaultRouteAnnotation] = "true" }));
        Assert.Equal(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);
    }

    [OvsFact]
    public async Task CreateBridge_refuses_the_real_default_route_nic_of_this_host_and_leaves_it_alone()
    {
        var nic = new NetworkHost().DefaultRouteNics().FirstOrDefault();
        if (nic is null) return; // a host without a default route has nothing to protect
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        kit.Bridge(br);
        AssertFailed(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))), ErrorClasses.VirtctlError, $"the NIC {nic} carries the default route");
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "port-to-br", nic).ExitCode);
        // an annotation other than exactly "true" does not allow it
        AssertFailed(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic)),
            annotations: new Dictionary<string, string> { [BridgeOperations.AllowDefaultRouteAnnotation] = "yes" }), ErrorClasses.VirtctlError, "default route");
        Assert.NotEqual(0, NetworkLab.Run("ovs-vsctl", "br-exists", br).ExitCode);
    }

    [OvsFact]
    public async Task SetBridgeVlan_and_delBridgeVlan_change_the_bridge_port_tag()
    {
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        var nic = await kit.VethAsync(NetworkLab.Short("n"));
        kit.Bridge(br);
        AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))));
        Assert.Equal("[]", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));

        AssertOk(await RunAsync(new SetBridgeVlanHandler(kit.Host), br, P(("name", br), ("vlan", "4094"))));
        Assert.Equal("4094", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));
        AssertFailed(await RunAsync(new DelBridgeVlanHandler(kit.Host), br, P(("name", br), ("vlan", "12"))), ErrorClasses.VirtctlError, "not VLAN 12");
        Assert.Equal("4094", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));
        AssertOk(await RunAsync(new DelBridgeVlanHandler(kit.Host), br, P(("name", br), ("vlan", "4094"))));
        Assert.Equal("[]", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));
        AssertFailed(await RunAsync(new SetBridgeVlanHandler(kit.Host), br, P(("name", br), ("vlan", "4095"))), ErrorClasses.VirtctlError, "from 0 to 4094");
        AssertFailed(await RunAsync(new SetBridgeVlanHandler(kit.Host), "kst-missing", P(("name", "kst-nobr"), ("vlan", "5"))), ErrorClasses.VirtctlError, "does not exist");
    }

    /// <summary>
    /// Two network namespaces stand in for two VMs: veth ends on the bridge carry external_ids:attached-mac like libvirt's
    /// ports. bindPortVlan puts both on VLAN 300: they ping; moving one to VLAN 301 stops it — isolation is real.
    /// </summary>
    [OvsFact]
    public async Task BindPortVlan_isolates_vms_on_different_tags_and_same_tags_ping()
    {
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        var nic = await kit.VethAsync(NetworkLab.Short("n"));
        kit.Bridge(br);
        AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))));
        var macs = new[] { "52:54:00:aa:00:01", "52:54:00:aa:00:02" };
        var ns = new string[2];
        for (var i = 0; i < 2; i++)
        {
            ns[i] = NetworkLab.Short("ns");
            var port = NetworkLab.Short("v");
            await NetworkLab.Sh("ip", "netns", "add", ns[i]);
            kit.Netns(ns[i]);
            await NetworkLab.Sh("ip", "link", "add", port, "type", "veth", "peer", "name", port + "p");
            kit.Link(port);
            await NetworkLab.Sh("ip", "link", "set", port + "p", "netns", ns[i]);
            await NetworkLab.Sh("ip", "-n", ns[i], "link", "set", port + "p", "address", macs[i]);
            await NetworkLab.Sh("ip", "-n", ns[i], "addr", "add", $"10.77.0.{i + 1}/24", "dev", port + "p");
            await NetworkLab.Sh("ip", "-n", ns[i], "link", "set", port + "p", "up");
            await NetworkLab.Sh("ip", "link", "set", port, "up");
            await NetworkLab.Sh("ovs-vsctl", "add-port", br, port, "--", "set", "interface", port, $"external_ids:attached-mac=\"{macs[i]}\"");
            var bound = AssertOk(await RunAsync(new BindPortVlanHandler(kit.Host), br, P(("mac", macs[i]), ("domain", "kst-fakevm"), ("vlan", "300"))));
            Assert.Equal("300", await NetworkLab.Sh("ovs-vsctl", "get", "port", port, "tag"));
            Assert.Contains(bound.View!["bridgeInfo"]!["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == port && p["vlan"]!.GetValue<string>() == "300");
        }

        Assert.True(Ping(ns[0], "10.77.0.2"), "same VLAN 300: the ping must pass");

        AssertOk(await RunAsync(new BindPortVlanHandler(kit.Host), br, P(("mac", macs[1]), ("domain", "kst-fakevm"), ("vlan", "301"))));
        Assert.False(Ping(ns[0], "10.77.0.2"), "VLAN 300 vs 301: the ping must fail");

        AssertOk(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", macs[1]), ("domain", "kst-fakevm"), ("vlan", "301"))));
        AssertFailed(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", macs[1]), ("domain", "kst-fakevm"))), ErrorClasses.VirtctlError, "has no VLAN");
        AssertFailed(await RunAsync(new BindPortVlanHandler(kit.Host), br, P(("mac", "52:54:00:aa:00:99"), ("domain", "kst-fakevm"), ("vlan", "1"))),
            ErrorClasses.VirtctlError, "no OVS port");
    }

    [OvsFact]
    public async Task UnbindPortVlan_clears_the_vm_port_tag_and_refuses_a_wrong_vlan_an_untagged_port_and_an_unknown_mac()
    {
        await using var kit = new NetworkTestKit();
        var br = NetworkLab.Short("b");
        var nic = await kit.VethAsync(NetworkLab.Short("n"));
        kit.Bridge(br);
        AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic), ("vlan", "55"))));
        const string mac = "52:54:00:aa:01:01";
        var port = await kit.VethAsync(NetworkLab.Short("v"));
        await NetworkLab.Sh("ovs-vsctl", "add-port", br, port, "--", "set", "interface", port, $"external_ids:attached-mac=\"{mac}\"");
        // no vlan: the bridge's VLAN
        AssertOk(await RunAsync(new BindPortVlanHandler(kit.Host), br, P(("mac", mac), ("domain", "kst-fakevm"))));
        Assert.Equal("55", await NetworkLab.Sh("ovs-vsctl", "get", "port", port, "tag"));

        AssertFailed(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", mac), ("domain", "kst-fakevm"), ("vlan", "56"))), ErrorClasses.VirtctlError, "is on VLAN 55, not VLAN 56");
        Assert.Equal("55", await NetworkLab.Sh("ovs-vsctl", "get", "port", port, "tag"));
        AssertFailed(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", "52:54:00:aa:01:99"), ("domain", "kst-fakevm"))), ErrorClasses.VirtctlError, "no OVS port");
        AssertFailed(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", "not-a-mac"), ("domain", "kst-fakevm"))), ErrorClasses.VirtctlError, "MAC address like");

        var ok = AssertOk(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", mac), ("domain", "kst-fakevm"), ("vlan", "55"))));
        Assert.Equal("[]", await NetworkLab.Sh("ovs-vsctl", "get", "port", port, "tag"));
        Assert.Contains(ok.View!["bridgeInfo"]!["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == port && p["vlan"]!.GetValue<string>() == string.Empty);
        // the bridge's own VLAN is not touched
        Assert.Equal("55", await NetworkLab.Sh("ovs-vsctl", "get", "port", br, "tag"));
        AssertFailed(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", mac), ("domain", "kst-fakevm"))), ErrorClasses.VirtctlError, "has no VLAN");
        AssertOk(await RunAsync(new UnbindPortVlanHandler(kit.Host), br, P(("mac", mac), ("domain", "kst-fakevm")), attempt: 2));
    }

    private static bool Ping(string ns, string ip) =>
        NetworkLab.Run("ip", "netns", "exec", ns, "busybox", "ping", "-c", "2", "-W", "2", ip).ExitCode == 0;
}

[CollectionDefinition(Name)]
public sealed class NetworkCollection
{
    public const string Name = "host lab (Open vSwitch / OVN)";
}
