using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Network;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// plugNIC/unplugNIC and plugDevice/unplugDevice on ONE booted TCG lab guest on the real libvirtd, Open vSwitch
/// (netdev datapath) and OVN: a Linux bridge NIC (a test bridge made with ip link), an l2bridge NIC on an OVS bridge
/// with VLAN 42 (the port's tag read from ovs-vsctl), an l3bridge NIC on br-int (the OVN logical port with the MAC and
/// IP, the OVS interface's iface-id). The guest's own LAB-TICK line proves each NIC and disk appears and disappears;
/// live and persistent XML are read back after every step; every failure path ends with its error class.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class NicHotplugTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(90);
    private const string ImagesDir = "/var/lib/libvirt/images";
    private const string MacA = "52:54:00:d0:0b:0a";
    private const string MacB = "52:54:00:d0:0b:0b";
    private const string MacC = "52:54:00:d0:0b:0c";

    [LabOvnFact]
    public async Task Nics_of_the_three_types_and_a_device_file_are_plugged_and_unplugged_live_and_persistently()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        await using var net = new NetworkTestKit();
        var name = cleanup.Domain(LabEnvironment.UniqueName("nic"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        var serial = Path.Combine(work, "serial.log");
        Directory.CreateDirectory(ImagesDir);
        var vda = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vda.qcow2"));
        var vdb = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vdb.qcow2"));
        var deviceFile = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vdb.xml"));
        var notADevice = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-domain.xml"));
        foreach (var disk in new[] { vda, vdb })
        {
            await HostToolRunner.Default.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"], CancellationToken.None);
        }

        await File.WriteAllTextAsync(deviceFile, LabGuest.DiskDeviceXml(vdb, "vdb"));
        await File.WriteAllTextAsync(notADevice, "<domain type='qemu'><name>x</name></domain>");

        // the networks: a Linux bridge, an OVS bridge on VLAN 42 (netdev datapath), an OVN switch behind br-int
        var linuxBridge = NicTestKit.ShortName("lb");
        await NicTestKit.Sh("ip", "link", "add", linuxBridge, "type", "bridge");
        net.Link(linuxBridge);
        await NicTestKit.Sh("ip", "link", "set", linuxBridge, "up");
        var ovsBridge = NicTestKit.ShortName("ob");
        net.Bridge(ovsBridge);
        await NicTestKit.Sh("ovs-vsctl", "add-br", ovsBridge, "--", "set", "Bridge", ovsBridge, "datapath_type=netdev", "--", "set", "Port", ovsBridge, "tag=42");
        var sw = NicTestKit.ShortName("sw");
        net.Switch(sw);
        await NicTestKit.Sh("ovn-nbctl", "ls-add", sw, "--", "set", "Logical_Switch", sw, "other_config:subnet=\"10.99.0.0/24\"");

        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, serial, vda));
        dom.Create();
        await Await.LineAsync(serial, "LAB-TICK", BootTimeout);

        // plugNIC bridge (no flags, running: live and persistent): the guest gets eth0, the tap is a port of the bridge
        var mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = $"source={linuxBridge}", ["mac"] = MacA }),
            $"Linux bridge {linuxBridge}");
        await WaitNicsAsync(serial, "eth0", mark);
        var tapA = NicDeviceXml.TargetOf(Nic(dom, DomainXmlFlags.None, MacA)!);
        Assert.True(Directory.Exists($"/sys/class/net/{linuxBridge}/brif/{tapA}"), $"{tapA} is not a port of {linuxBridge}");
        Assert.Equal(linuxBridge, NicDeviceXml.BridgeOf(Nic(dom, DomainXmlFlags.Inactive, MacA)!));

        // the same MAC again is the seed's error; a resumed attempt is success without a second NIC
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = $"source={linuxBridge}", ["mac"] = MacA }),
            ErrorClasses.LibvirtError, "already has a NIC with MAC " + MacA);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = $"source={linuxBridge}", ["mac"] = MacA }, attempt: 2),
            "earlier attempt");
        Assert.Single(Nics(dom, DomainXmlFlags.None), m => m == MacA);

        // plugNIC l2bridge: the OVS port carries the bridge's VLAN 42
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "l2bridge", ["source"] = $"source={ovsBridge}", ["mac"] = MacB, ["inbound"] = "2048" }),
            "(VLAN 42)");
        await WaitNicsAsync(serial, "eth0,eth1", mark);
        var tapB = NicDeviceXml.TargetOf(Nic(dom, DomainXmlFlags.None, MacB)!)!;
        Assert.Contains(tapB, (await NicTestKit.Sh("ovs-vsctl", "list-ports", ovsBridge)).Split('\n'));
        Assert.Equal("42", await NicTestKit.Sh("ovs-vsctl", "get", "Port", tapB, "tag"));
        Assert.Equal("2048", (string?)Nic(dom, DomainXmlFlags.Inactive, MacB)!.Element("bandwidth")?.Element("inbound")?.Attribute("average"));
        // libvirt shapes it with a linux-htb QoS row and a Queue row of its own on the tap's port
        var qosB = Assert.Single(await NicTestKit.OvsQosRowsAsync("QoS", dom.Uuid, tapB)).Split(' ')[0];
        Assert.Equal(qosB, await NicTestKit.Sh("ovs-vsctl", "get", "Port", tapB, "qos"));
        Assert.Single(await NicTestKit.OvsQosRowsAsync("Queue", dom.Uuid, tapB));

        // plugNIC l3bridge: OVN port with MAC and IP exists, the OVS interface on br-int names it as iface-id
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "l3bridge", ["source"] = $"source=br-int,ip=10.99.0.10,switch={sw}", ["mac"] = MacC }),
            $"OVN switch {sw}");
        await WaitNicsAsync(serial, "eth0,eth1,eth2", mark);
        var nicC = Nic(dom, DomainXmlFlags.None, MacC)!;
        var portC = NicDeviceXml.InterfaceIdOf(nicC)!;
        Assert.Equal(portC, NicDeviceXml.InterfaceIdOf(Nic(dom, DomainXmlFlags.Inactive, MacC)!));
        Assert.Equal($"{MacC} 10.99.0.10", await NicTestKit.Sh("ovn-nbctl", "--bare", "--columns=addresses", "find", "Logical_Switch_Port", $"name={portC}"));
        Assert.Equal(name, await PortVmAsync(portC));
        Assert.Contains(NicDeviceXml.TargetOf(nicC)!, (await NicTestKit.Sh("ovs-vsctl", "list-ports", "br-int")).Split('\n'));
        Assert.Equal($"\"{portC}\"", await NicTestKit.Sh("ovs-vsctl", "get", "Interface", NicDeviceXml.TargetOf(nicC)!, "external_ids:iface-id"));
        // setQoS towards the VM: KubeStack's own linux-htb row on the l3bridge NIC's OVS port
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "setQoS", new Dictionary<string, string> { ["swName"] = sw, ["type"] = "to", ["rule"] = "ip", ["rate"] = "4000", ["burst"] = "0" }),
            "linux-htb", view: false);
        Assert.Single(await KubeStackHtbRowsAsync(portC));

        // failure paths: nothing is added
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "l3bridge", ["source"] = "source=br-int,switch=kst-no-such-sw", ["mac"] = "52:54:00:d0:0b:0d" }),
            ErrorClasses.VirtctlError, "OVN logical switch kst-no-such-sw");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "l2bridge", ["source"] = "source=kst-noovs", ["mac"] = "52:54:00:d0:0b:0d" }),
            ErrorClasses.VirtctlError, "OVS bridge kst-noovs");
        var refused = NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = "source=kst-nolb", ["mac"] = "52:54:00:d0:0b:0d" }),
            ErrorClasses.LibvirtError, "libvirt reported");
        Assert.Contains("kst-nolb", refused.Message, StringComparison.Ordinal);
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "l3bridge", ["source"] = "source=br-int", ["mac"] = "52:54:00:d0:0b:0d" }),
            ErrorClasses.VirtctlError, "plugNIC.source must name the OVN switch");
        Assert.Null(Nic(dom, DomainXmlFlags.None, "52:54:00:d0:0b:0d"));
        Assert.Null(Nic(dom, DomainXmlFlags.Inactive, "52:54:00:d0:0b:0d"));
        Assert.Equal(string.Empty, await NicTestKit.Sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", "addresses{>=}\"52:54:00:d0:0b:0d\""));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "l2bridge", ["mac"] = MacA }),
            ErrorClasses.VirtctlError, "is a Linux bridge (bridge) NIC");

        // unplugNIC l3bridge: gone from the guest and both definitions, and the OVN port is removed
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "l3bridge", ["mac"] = MacC }), "OVN logical port");
        await WaitNicsAsync(serial, "eth0,eth1", mark);
        Assert.Null(Nic(dom, DomainXmlFlags.None, MacC));
        Assert.Null(Nic(dom, DomainXmlFlags.Inactive, MacC));
        Assert.Equal(string.Empty, await NicTestKit.Sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", $"name={portC}"));
        Assert.Empty(await KubeStackHtbRowsAsync(portC));

        // unplugNIC l2bridge and bridge: the guest has no NIC left, the OVS port is gone, and so are the QoS and Queue
        // rows of the l2bridge NIC's bandwidth (a live detach: libvirt clears them itself; the rows a stopped domain
        // leaves are QosTuningTests' case)
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "l2bridge", ["mac"] = MacB }), "was unplugged");
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("QoS", dom.Uuid));
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("Queue", dom.Uuid));
        Assert.False(await NicTestKit.OvsRowExistsAsync("QoS", qosB));
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["mac"] = MacA }), "was unplugged");
        await WaitNicsAsync(serial, string.Empty, mark);
        Assert.DoesNotContain(tapB, (await NicTestKit.Sh("ovs-vsctl", "list-ports", ovsBridge)).Split('\n'));
        Assert.Empty(Nics(dom, DomainXmlFlags.None));
        Assert.Empty(Nics(dom, DomainXmlFlags.Inactive));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["mac"] = MacA }),
            ErrorClasses.LibvirtError, "has no NIC with MAC " + MacA);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["mac"] = MacA }, attempt: 2), "earlier attempt");

        // plugDevice/unplugDevice with a device XML file: the guest sees vdb come and go
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugDevice", new Dictionary<string, string> { ["file"] = deviceFile }), "<disk> vdb was attached");
        await Await.LineAsync(serial, "disks=vda,vdb ", GuestTimeout, mark);
        Assert.NotNull(VmDisk(dom, DomainXmlFlags.Inactive, "vdb"));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugDevice", new Dictionary<string, string> { ["file"] = deviceFile }), ErrorClasses.LibvirtError, "already has the device <disk> vdb");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugDevice", new Dictionary<string, string> { ["file"] = notADevice }), ErrorClasses.VirtctlError, "not <domain>");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugDevice", new Dictionary<string, string> { ["file"] = "/etc/libvirt/qemu.conf" }), ErrorClasses.VirtctlError, "plugDevice.file");
        mark = Await.LineCount(serial);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugDevice", new Dictionary<string, string> { ["file"] = deviceFile }), "<disk> vdb was detached");
        await Await.LineAsync(serial, "disks=vda ", GuestTimeout, mark);
        Assert.Null(VmDisk(dom, DomainXmlFlags.None, "vdb"));
        Assert.Null(VmDisk(dom, DomainXmlFlags.Inactive, "vdb"));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "unplugDevice", new Dictionary<string, string> { ["file"] = deviceFile }), ErrorClasses.LibvirtError, "has no device <disk> vdb");

        // stopped VM: plugNIC changes the definition only; live=true is refused
        dom.Destroy();
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = $"source={linuxBridge}", ["mac"] = MacA, ["live"] = "true" }),
            ErrorClasses.LibvirtError, "needs a running VM");
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = $"source={linuxBridge}", ["mac"] = MacA }), "persistently");
        Assert.NotNull(Nic(dom, DomainXmlFlags.Inactive, MacA));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "plugNIC", new Dictionary<string, string> { ["type"] = "bridge", ["source"] = "source=kst-nolb", ["mac"] = MacB }),
            ErrorClasses.LibvirtError, "there is no Linux bridge kst-nolb");
    }

    private static async Task<string[]> KubeStackHtbRowsAsync(string port) =>
        (await NicTestKit.Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "QoS", $"external_ids:kubestack-port=\"{port}\"")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<string> PortVmAsync(string port) =>
        (await NicTestKit.Sh("ovn-nbctl", "--bare", "--columns=external_ids", "find", "Logical_Switch_Port", $"name={port}"))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).Where(kv => kv[0] == "kubestack-vm").Select(kv => kv[1].Trim('"')).Single();

    /// <summary>Waits for a LAB-TICK line (after <paramref name="afterLine"/>) whose nics= list is exactly <paramref name="nics"/>.</summary>
    private static Task WaitNicsAsync(string serial, string nics, int afterLine) =>
        Await.UntilAsync(() => File.ReadAllLines(serial).Skip(afterLine).Any(l => l.Contains("LAB-TICK", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" nics=" + nics, StringComparison.Ordinal)),
            GuestTimeout, $"the guest listing nics={nics}");

    private static XElement? Nic(LibvirtDomain dom, DomainXmlFlags flags, string mac) => NicDeviceXml.Find(XDocument.Parse(dom.GetXmlDesc(flags)), mac);

    private static IEnumerable<string> Nics(LibvirtDomain dom, DomainXmlFlags flags) =>
        XDocument.Parse(dom.GetXmlDesc(flags)).Root!.Element("devices")!.Elements("interface").Select(i => (string)i.Element("mac")!.Attribute("address")!);

    private static XElement? VmDisk(LibvirtDomain dom, DomainXmlFlags flags, string target) =>
        XDocument.Parse(dom.GetXmlDesc(flags)).Root!.Element("devices")!.Elements("disk").FirstOrDefault(d => (string?)d.Element("target")?.Attribute("dev") == target);
}
