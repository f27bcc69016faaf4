using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using static KubeStack.HostIntegration.Tests.Network.NetworkLab;
using static KubeStack.HostIntegration.Tests.Network.NetworkTestKit;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>Skips unless libvirt with the lab guest and OVS + OVN (with ovn-controller) are up.</summary>
public sealed class VmNetworkLabFactAttribute : FactAttribute
{
    public VmNetworkLabFactAttribute()
    {
        if ((LabEnvironment.WhyNoLab ?? WhyNoOvn) is { } r) Skip = r;
    }
}

/// <summary>
/// A real VM with an l2bridge NIC (OVS bridge, VLAN by bindPortVlan) and an l3bridge NIC (br-int, OVN logical port
/// with MAC and fixed IP made by VM create, bound by ovn-controller when the domain starts, removed by deleteVM with its
/// ACL, OVN QoS and OVS linux-htb rows).
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class VmNicTests
{
    private const string L2Mac = "52:54:00:c1:00:01";
    private const string L3Mac = "52:54:00:c1:00:02";

    [VmNetworkLabFact]
    public async Task Vm_with_l2bridge_and_l3bridge_nics_gets_its_ovs_port_vlan_and_bound_ovn_port_and_deleteVM_removes_the_ovn_port()
    {
        await using var kit = new NetworkTestKit();
        var br = Short("b");
        var nic = await kit.VethAsync(Short("n"));
        kit.Bridge(br);
        AssertOk(await RunAsync(new CreateBridgeHandler(kit.Host), br, P(("name", br), ("nic", nic))));
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.130.0.1/24"), ("gateway", "10.130.0.1"));

        await using var vm = await LabVm.CreateAsync($"type=l2bridge,source={br},mac={L2Mac} --network type=l3bridge,source=br-int,ip=10.130.0.5,switch={sw},mac={L3Mac}");
        var (conn, name, host, create) = (vm.Connection, vm.Name, vm.Host, vm.Create);

        AssertOk(await RunAsync(new CreateAndStartVMFromISOHandler(host), name, create));
        var xml = conn.LookupDomainByName(name).GetXmlDesc();
        var port = Assert.Single(OvnVmPorts.InterfaceIds(xml));
        kit.OnDispose(() => new OvnVmPorts(kit.Ovn).RemovePortAsync(port));

        // l2bridge: libvirt's tap on the OVS bridge, found by MAC; bindPortVlan tags it
        var l2 = Assert.Single(await Ovs("Interface", "name", $"external_ids:attached-mac=\"{L2Mac}\""));
        Assert.Equal(br, await Sh("ovs-vsctl", "port-to-br", l2));
        AssertOk(await RunAsync(new BindPortVlanHandler(kit.Host), br, P(("mac", L2Mac), ("domain", name), ("vlan", "77"))));
        Assert.Equal("77", await Sh("ovs-vsctl", "get", "Port", l2, "tag"));

        // l3bridge: the OVN port made before the start, and the tap on br-int with iface-id = the port
        Assert.Equal($"[\"{L3Mac} 10.130.0.5\"]", await Sh("ovn-nbctl", "get", "Logical_Switch_Port", port, "addresses"));
        Assert.Equal(name, await NbGet("Logical_Switch_Port", port, "external_ids:kubestack-vm"));
        Assert.Contains($"({port})", await Sh("ovn-nbctl", "lsp-list", sw), StringComparison.Ordinal);
        var l3 = Assert.Single(await Ovs("Interface", "name", $"external_ids:iface-id=\"{port}\""));
        Assert.Equal("br-int", await Sh("ovs-vsctl", "port-to-br", l3));
        // ovn-controller binds it to this chassis
        await EventuallyAsync(async () => await NbGet("Logical_Switch_Port", port, "up") == "true", TimeSpan.FromSeconds(60), "the OVN port of the l3bridge NIC to come up");
        Assert.Equal("kubestack-lab", await QosAndFloatingIpTests.BoundChassis(port));

        // an ACL on the VM's port by its MAC works on the real VM
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), name, P(("swName", sw), ("vmmac", L3Mac), ("type", "to"), ("rule", "tcp.dst == 22"), ("operator", "allow"))));

        // QoS of the whole port towards the VM: the OVN row and a linux-htb QoS on libvirt's tap port
        AssertOk(await RunAsync(new SetQoSHandler(kit.Host), name, P(("swName", sw), ("type", "to"), ("rule", "ip"), ("rate", "4000"), ("burst", "0"))));
        Assert.Equal("linux-htb", await Sh("ovs-vsctl", "--bare", "--columns=type", "find", "QoS", $"external_ids:kubestack-port=\"{port}\""));
        Assert.NotEqual("[]", await Sh("ovs-vsctl", "get", "Port", l3, "qos"));

        // the VM goes: its OVN port, ACL and QoS rows go with it (libvirt drops the tap port; deleteVM the QoS row it used)
        AssertOk(await RunAsync(new StopVMForceHandler(host), name, P()));
        var deleted = AssertOk(await RunAsync(new DeleteVMHandler(host), name, P()));
        Assert.Contains(port, deleted.Message, StringComparison.Ordinal);
        Assert.Null(conn.TryLookupDomainByName(name));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", $"name={port}"));
        Assert.Empty(await NbFind("ACL", "_uuid", $"external_ids:kubestack-vm={name}"));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "acls"));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "qos_rules"));
        Assert.Empty(await Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "QoS", $"external_ids:kubestack-port=\"{port}\""));
    }

    [VmNetworkLabFact]
    public async Task Vm_create_refuses_an_l3bridge_nic_on_a_missing_switch_and_defines_nothing()
    {
        await using var vm = await LabVm.CreateAsync($"type=l3bridge,source=br-int,ip=10.131.0.5,switch=kst-nosuch-sw,mac={L3Mac}");
        var (conn, name, host, create) = (vm.Connection, vm.Name, vm.Host, vm.Create);

        AssertFailed(await RunAsync(new CreateAndStartVMFromISOHandler(host), name, create), ErrorClasses.VirtctlError, "the OVN logical switch kst-nosuch-sw of the l3bridge NIC");
        Assert.Null(conn.TryLookupDomainByName(name));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", $"external_ids:kubestack-vm={name}"));
    }

    /// <summary>A libvirt connection, the VM lab files (ISO copy, disk; the domain removed at the end) and createAndStartVMFromISO parameters with <c>network</c>.</summary>
    private sealed class LabVm : IAsyncDisposable
    {
        private VmLab? _lab;

        public required LibvirtConnection Connection { get; init; }
        public required string Name { get; init; }
        public VmHost Host { get; private set; } = null!;
        public System.Text.Json.Nodes.JsonObject Create { get; private set; } = null!;

        public static async Task<LabVm> CreateAsync(string network)
        {
            var vm = new LabVm { Connection = LibvirtConnection.Open(LabEnvironment.SystemUri), Name = LabEnvironment.UniqueName("net") };
            vm._lab = await VmLab.CreateAsync(vm.Name, vm.Connection);
            vm._lab.Cleanup.Domain(vm.Name);
            vm.Host = new VmHost(new LibvirtHost(() => vm.Connection), new AgentOptions { NodeName = Node, DomainType = DomainType.Qemu, SerialLogDirectory = vm._lab.SerialDir });
            vm.Create = vm._lab.IsoInstall();
            vm.Create["network"] = network;
            return vm;
        }

        public async ValueTask DisposeAsync()
        {
            if (_lab is not null) await _lab.DisposeAsync();
            Connection.Dispose();
        }
    }

    private static async Task<IReadOnlyList<string>> Ovs(string table, string column, string condition) =>
        (await Sh("ovs-vsctl", "--bare", $"--columns={column}", "find", table, condition)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
