using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Network;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// tuneDiskQoS and tuneNICQoS on a running lab domain (QEMU runs; the guest need not finish booting): the limits are
/// read back through virDomainGetBlockIoTune / virDomainGetInterfaceParameters (the handlers) and, independently, with
/// virsh blkdeviotune / domiftune, the domain XML (the result view) and Open vSwitch's QoS rows for an OVS NIC. A
/// Linux-bridge NIC cannot be shaped live on this kernel (no sch_sfq / act_police): that is libvirt's LibvirtError.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class QosTuningTests
{
    private const string ImagesDir = "/var/lib/libvirt/images";
    private const string OvsMac = "52:54:00:d0:0c:01";
    private const string BridgeMac = "52:54:00:d0:0c:02";

    [LabOvnFact]
    public async Task Disk_and_nic_limits_are_applied_live_and_persistently_and_read_back()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        await using var net = new NetworkTestKit();
        var name = cleanup.Domain(LabEnvironment.UniqueName("qos"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        Directory.CreateDirectory(ImagesDir);
        var vda = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vda.qcow2"));
        var vdb = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vdb.qcow2"));
        foreach (var disk in new[] { vda, vdb })
        {
            await HostToolRunner.Default.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"], CancellationToken.None);
        }

        var linuxBridge = NicTestKit.ShortName("lq");
        await NicTestKit.Sh("ip", "link", "add", linuxBridge, "type", "bridge");
        net.Link(linuxBridge);
        await NicTestKit.Sh("ip", "link", "set", linuxBridge, "up");
        var ovsBridge = NicTestKit.ShortName("oq");
        net.Bridge(ovsBridge);
        await NicTestKit.Sh("ovs-vsctl", "add-br", ovsBridge, "--", "set", "Bridge", ovsBridge, "datapath_type=netdev");

        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, Path.Combine(work, "serial.log"), vda,
            NicTestKit.DataDisk(vdb, "vdb"), NicTestKit.BridgeNic(ovsBridge, OvsMac, ovs: true), NicTestKit.BridgeNic(linuxBridge, BridgeMac)));
        dom.Create();

        // tuneDiskQoS (no flags, running: live and persistent): libvirt reports the values both ways
        var ok = NicTestKit.AssertSucceeded(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string>
            { ["device"] = "vdb", ["total_bytes_sec"] = "10,485,760", ["read_iops_sec"] = "400", ["write_iops_sec"] = "300" }), "total_bytes_sec=10485760");
        Assert.Contains("live:", ok.Message, StringComparison.Ordinal);
        Assert.Contains("persistent:", ok.Message, StringComparison.Ordinal);
        var live = await BlkDevIoTuneAsync(name, "vdb", "--live");
        Assert.Equal("10485760", live["total_bytes_sec"]);
        Assert.Equal("400", live["read_iops_sec"]);
        Assert.Equal("300", live["write_iops_sec"]);
        Assert.Equal("10485760", (await BlkDevIoTuneAsync(name, "vdb", "--config"))["total_bytes_sec"]);
        Assert.Contains("\"total_bytes_sec\"", ok.View!.ToJsonString(), StringComparison.Ordinal);   // the result view: the disk's <iotune>
        Assert.Equal("10485760", (string?)Disk(dom, DomainXmlFlags.None, "vdb")?.Element("iotune")?.Element("total_bytes_sec"));

        // libvirt's rule: a group (bytes/s, I/O ops/s) is replaced as a whole, limits not given in it become 0 (none);
        // the other group keeps its values; live=true leaves the definition alone
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdb", ["read_iops_sec"] = "500", ["live"] = "true" }), "read_iops_sec=500");
        live = await BlkDevIoTuneAsync(name, "vdb", "--live");
        Assert.Equal("500", live["read_iops_sec"]);
        Assert.Equal("0", live["write_iops_sec"]);
        Assert.Equal("10485760", live["total_bytes_sec"]);
        Assert.Equal("400", (await BlkDevIoTuneAsync(name, "vdb", "--config"))["read_iops_sec"]);

        // failure paths
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdz", ["total_bytes_sec"] = "1048576" }),
            ErrorClasses.LibvirtError, "has no disk vdz");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdb", ["total_bytes_sec"] = "1048576", ["read_bytes_sec"] = "1024" }),
            ErrorClasses.VirtctlError, "cannot be combined");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdb" }),
            ErrorClasses.VirtctlError, "needs at least one limit");

        // tuneNICQoS on the OVS NIC: libvirt reports it, OVS carries it (linux-htb QoS for inbound, ingress policing for outbound)
        ok = NicTestKit.AssertSucceeded(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string>
            { ["_interface"] = OvsMac, ["inbound"] = "1000", ["outbound"] = "2000" }), "inbound.average=1000 KiB/s");
        Assert.Contains("outbound.average=2000 KiB/s", ok.Message, StringComparison.Ordinal);
        var tune = await DomIfTuneAsync(name, OvsMac, "--live");
        Assert.Equal("1000", tune["inbound.average"]);
        Assert.Equal("2000", tune["outbound.average"]);
        Assert.Equal("1000", (await DomIfTuneAsync(name, OvsMac, "--config"))["inbound.average"]);
        var tap = (string)Nic(dom, DomainXmlFlags.None, OvsMac)!.Element("target")!.Attribute("dev")!;
        Assert.Equal("16000", await NicTestKit.Sh("ovs-vsctl", "get", "Interface", tap, "ingress_policing_rate"));   // kbps = 2000 KiB/s
        var qos = await NicTestKit.Sh("ovs-vsctl", "get", "Port", tap, "qos");
        Assert.Equal("linux-htb", await NicTestKit.Sh("ovs-vsctl", "get", "QoS", qos, "type"));
        Assert.Equal("\"8000000\"", await NicTestKit.Sh("ovs-vsctl", "get", "QoS", qos, "other_config:min-rate"));   // bit/s = 1000 KiB/s
        Assert.Equal("1000", (string?)Nic(dom, DomainXmlFlags.None, OvsMac)!.Element("bandwidth")?.Element("inbound")?.Attribute("average"));

        // the Linux-bridge NIC: live shaping needs tc's sfq and police, which this kernel lacks: libvirt's refusal
        var refused = NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string> { ["_interface"] = BridgeMac, ["inbound"] = "1000", ["live"] = "true" }),
            ErrorClasses.LibvirtError, "libvirt reported");
        Assert.Contains("tc ", refused.Message, StringComparison.Ordinal);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string> { ["_interface"] = BridgeMac, ["inbound"] = "1000", ["config"] = "true" }),
            "persistent: inbound.average=1000");
        Assert.Equal("1000", (string?)Nic(dom, DomainXmlFlags.Inactive, BridgeMac)!.Element("bandwidth")?.Element("inbound")?.Attribute("average"));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string> { ["_interface"] = "52:54:00:d0:0c:99", ["inbound"] = "1000" }),
            ErrorClasses.LibvirtError, "has no NIC with MAC 52:54:00:d0:0c:99");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string> { ["_interface"] = OvsMac }),
            ErrorClasses.VirtctlError, "needs inbound, outbound or both");

        // stopped VM: the definition only; live=true is refused
        dom.Destroy();
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdb", ["total_bytes_sec"] = "2097152" }), "persistent: total_bytes_sec=2097152");
        Assert.Equal("2097152", (string?)Disk(dom, DomainXmlFlags.Inactive, "vdb")?.Element("iotune")?.Element("total_bytes_sec"));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "tuneNICQoS", new Dictionary<string, string> { ["_interface"] = OvsMac, ["inbound"] = "10", ["live"] = "true" }),
            ErrorClasses.LibvirtError, "needs a running VM");
        NicTestKit.AssertFailed(await kit.RunAsync("kst-qos-nosuchvm", "tuneDiskQoS", new Dictionary<string, string> { ["device"] = "vdb", ["total_bytes_sec"] = "1" }),
            ErrorClasses.VirtletError, "has no libvirt domain");

        // libvirt left the OVS NIC's QoS and Queue rows behind when the domain stopped; deleteVM removes them (and a
        // resumed deleteVM finds nothing left and succeeds)
        var uuid = dom.Uuid;
        Assert.Contains(await NicTestKit.OvsQosRowsAsync("QoS", uuid, tap), r => r.StartsWith(qos, StringComparison.Ordinal));
        Assert.NotEmpty(await NicTestKit.OvsQosRowsAsync("Queue", uuid, tap));
        var deleted = NicTestKit.AssertSucceeded(await kit.RunAsync(name, "deleteVM", new Dictionary<string, string>()), "was deleted", view: false);
        Assert.Contains("Open vSwitch QoS", deleted.Message, StringComparison.Ordinal);
        Assert.Null(conn.TryLookupDomainByName(name));
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("QoS", uuid));
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("Queue", uuid));
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "deleteVM", new Dictionary<string, string>(), attempt: 2), "earlier attempt", view: false);
    }

    [LabOvnFact]
    public async Task UnplugNIC_and_the_vm_finalizer_remove_the_qos_rows_libvirt_left_and_keep_live_and_other_vms_rows()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        await using var net = new NetworkTestKit();
        var name = cleanup.Domain(LabEnvironment.UniqueName("qosfin"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        var ovsBridge = NicTestKit.ShortName("of");
        net.Bridge(ovsBridge);
        await NicTestKit.Sh("ovs-vsctl", "add-br", ovsBridge, "--", "set", "Bridge", ovsBridge, "datapath_type=netdev");
        var nic = NicTestKit.BridgeNic(ovsBridge, OvsMac, ovs: true);
        nic.Add(new XElement("bandwidth", new XElement("inbound", new XAttribute("average", "1000"))));
        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, Path.Combine(work, "serial.log"), null, nic));
        var uuid = dom.Uuid;

        // another VM's leftover rows with the same tap name: they must survive
        var otherVm = Guid.NewGuid().ToString("D");
        var otherQueue = await NicTestKit.Sh("ovs-vsctl", "create", "Queue", $"external_ids:vm-id=\"{otherVm}\"", "external_ids:ifname=vnet0");
        var otherQos = await NicTestKit.Sh("ovs-vsctl", "create", "QoS", "type=linux-htb", $"queues:0={otherQueue}", $"external_ids:vm-id=\"{otherVm}\"", "external_ids:ifname=vnet0");
        net.OnDispose(async () =>
        {
            await NicTestKit.ToolAsync("ovs-vsctl", "--if-exists", "destroy", "QoS", otherQos);
            await NicTestKit.ToolAsync("ovs-vsctl", "--if-exists", "destroy", "Queue", otherQueue);
        });

        // two starts: libvirt makes a QoS/Queue pair per start and keeps the first pair when the domain stops
        dom.Create();
        dom.Destroy();
        dom.Create();
        var tap = (string)Nic(dom, DomainXmlFlags.None, OvsMac)!.Element("target")!.Attribute("dev")!;
        var live = await NicTestKit.Sh("ovs-vsctl", "get", "Port", tap, "qos");
        Assert.Equal(2, (await NicTestKit.OvsQosRowsAsync("QoS", uuid)).Count);
        Assert.Equal(2, (await NicTestKit.OvsQosRowsAsync("Queue", uuid)).Count);

        // unplugNIC of the definition only (config=true; the NIC stays in the running domain): the pair of the first
        // start goes, the running NIC's pair (its port's qos) stays
        var unplugged = NicTestKit.AssertSucceeded(await kit.RunAsync(name, "unplugNIC", new Dictionary<string, string> { ["type"] = "l2bridge", ["mac"] = OvsMac, ["config"] = "true" }),
            "was unplugged");
        Assert.Contains("1 Open vSwitch QoS and 1 Queue row(s)", unplugged.Message, StringComparison.Ordinal);
        Assert.Null(Nic(dom, DomainXmlFlags.Inactive, OvsMac));
        Assert.Equal([$"{live} {tap}"], await NicTestKit.OvsQosRowsAsync("QoS", uuid));
        Assert.Single(await NicTestKit.OvsQosRowsAsync("Queue", uuid, tap));
        Assert.Equal(live, await NicTestKit.Sh("ovs-vsctl", "get", "Port", tap, "qos"));

        // kubectl delete of the running VM: powered off, rows gone, undefined; the other VM's rows are untouched
        var cleaned = NicTestKit.AssertSucceeded(await new VirtualMachineCleanup(kit.Host).CleanupAsync(CleanupContextFor(name), CancellationToken.None), "undefined", view: false);
        Assert.Contains("1 Open vSwitch QoS and 1 Queue row(s)", cleaned.Message, StringComparison.Ordinal);
        Assert.Null(conn.TryLookupDomainByName(name));
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("QoS", uuid));
        Assert.Empty(await NicTestKit.OvsQosRowsAsync("Queue", uuid));
        Assert.False(await NicTestKit.OvsRowExistsAsync("QoS", live));
        Assert.Equal(otherQos, await NicTestKit.Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "QoS", $"external_ids:vm-id=\"{otherVm}\""));
        Assert.Equal(otherQueue, await NicTestKit.Sh("ovs-vsctl", "--bare", "--columns=_uuid", "find", "Queue", $"external_ids:vm-id=\"{otherVm}\""));

        // a second run of the finalizer (after a crash) finds nothing left and succeeds
        NicTestKit.AssertSucceeded(await new VirtualMachineCleanup(kit.Host).CleanupAsync(CleanupContextFor(name), CancellationToken.None), "nothing to clean up", view: false);
    }

    private static CleanupContext CleanupContextFor(string vm) => new()
    {
        Object = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new k8s.Models.V1ObjectMeta { Name = vm, NamespaceProperty = "default" },
            Spec = new KubeStackSpec(),
        },
        NodeName = NicTestKit.Node,
        Logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
    };

    private static async Task<Dictionary<string, string>> BlkDevIoTuneAsync(string vm, string disk, string scope) =>
        Pairs(await NicTestKit.Sh("virsh", "-c", LabEnvironment.SystemUri, "blkdeviotune", vm, disk, scope));

    private static async Task<Dictionary<string, string>> DomIfTuneAsync(string vm, string mac, string scope) =>
        Pairs(await NicTestKit.Sh("virsh", "-c", LabEnvironment.SystemUri, "domiftune", vm, mac, scope));

    /// <summary>virsh's "name   : value" lines.</summary>
    private static Dictionary<string, string> Pairs(string output) =>
        output.Split('\n').Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);

    private static XElement? Disk(LibvirtDomain dom, DomainXmlFlags flags, string target) =>
        XDocument.Parse(dom.GetXmlDesc(flags)).Root!.Element("devices")!.Elements("disk").FirstOrDefault(d => (string?)d.Element("target")?.Attribute("dev") == target);

    private static XElement? Nic(LibvirtDomain dom, DomainXmlFlags flags, string mac) =>
        NodeAgent.Builders.Devices.NicDeviceXml.Find(XDocument.Parse(dom.GetXmlDesc(flags)), mac);
}
