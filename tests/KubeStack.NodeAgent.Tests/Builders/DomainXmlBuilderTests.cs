using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.NodeAgent.Builders;

namespace KubeStack.NodeAgent.Tests.Builders;

public class DomainXmlBuilderTests
{
    private static readonly NodeDomainSettings LabNode = new("qemu", "/usr/bin/qemu-system-x86_64", "pc", SerialLogDirectory: "/var/log/kubestack/serial");

    private static JsonObject Params(params (string Key, string Value)[] overrides)
    {
        var parameters = new JsonObject
        {
            ["disk"] = "/var/lib/libvirt/images/vm1.qcow2 --disk /var/lib/libvirt/iso/install.iso,device=cdrom,perms=ro",
            ["memory"] = "512",
            ["vcpus"] = "2",
            ["network"] = "type=bridge,source=virbr0",
            ["graphics"] = "vnc,listen=0.0.0.0,password=hidden-pw",
            ["os_variant"] = "linux2022",
            ["noautoconsole"] = true,
        };
        foreach (var (key, value) in overrides)
        {
            parameters[key] = value;
        }
        return parameters;
    }

    private static DomainBuildResult Build(JsonObject parameters, VmCreateKind kind = VmCreateKind.FromIso, NodeDomainSettings? node = null, Guid? uid = null) =>
        DomainXmlBuilder.Build("vm1", VmCreateParameters.Parse(parameters, kind), node ?? LabNode, uid);

    private static XElement Root(DomainBuildResult result) => XElement.Parse(result.Xml);

    [Fact]
    public void Domain_type_comes_from_the_node_configuration_when_the_request_has_no_virt_type()
    {
        Assert.Equal("qemu", (string?)Root(Build(Params())).Attribute("type"));
        Assert.Equal("kvm", (string?)Root(Build(Params(), node: LabNode with { DomainType = "kvm" })).Attribute("type"));
    }

    [Fact]
    public void Virt_type_xen_is_refused_with_a_sentence_naming_it()
    {
        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("virt_type", "xen"))));

        Assert.Contains("virt_type=xen is not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Iso_install_boots_from_the_cdrom_first_then_the_disk()
    {
        var boots = Root(Build(Params())).Element("os")!.Elements("boot").Select(b => (string?)b.Attribute("dev"));

        Assert.Equal(["cdrom", "hd"], boots);
    }

    [Fact]
    public void Image_create_boots_from_the_disk()
    {
        var parameters = Params(("disk", "/var/lib/libvirt/images/vm1.qcow2"));

        var boots = Root(Build(parameters, VmCreateKind.FromImage)).Element("os")!.Elements("boot").Select(b => (string?)b.Attribute("dev"));

        Assert.Equal(["hd"], boots);
    }

    [Fact]
    public void Iso_install_without_any_cdrom_is_refused()
    {
        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("disk", "/var/lib/libvirt/images/vm1.qcow2"))));

        Assert.Contains("needs the installation CD", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disks_get_targets_and_buses_deduced_and_the_cdrom_is_read_only_on_ide()
    {
        var result = Build(Params());

        Assert.Equal([("vda", "virtio", "qcow2"), ("hda", "ide", "raw")], result.Disks.Select(d => (d.Target, d.Bus, d.Format)));
        var cdrom = Root(result).Element("devices")!.Elements("disk").Single(d => (string?)d.Attribute("device") == "cdrom");
        Assert.NotNull(cdrom.Element("readonly"));
    }

    [Fact]
    public void Io_limits_become_iotune()
    {
        var result = Build(Params(("disk", "/var/lib/libvirt/images/vm1.qcow2,read_bytes_sec=1000,write_bytes_sec=2000 --disk /var/lib/libvirt/iso/i.iso,device=cdrom")));

        var iotune = Root(result).Element("devices")!.Element("disk")!.Element("iotune")!;
        Assert.Equal("1000", iotune.Element("read_bytes_sec")!.Value);
        Assert.Equal("2000", iotune.Element("write_bytes_sec")!.Value);
    }

    [Fact]
    public void Password_is_in_the_xml_for_libvirt_but_never_in_redacted_xml_or_text_forms()
    {
        var result = Build(Params());

        Assert.Equal("hidden-pw", (string?)Root(result).Element("devices")!.Element("graphics")!.Attribute("passwd"));
        Assert.DoesNotContain("hidden-pw", result.RedactedXml, StringComparison.Ordinal);
        Assert.Contains("passwd=\"***\"", result.RedactedXml, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden-pw", result.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hidden-pw", VmCreateParameters.Parse(Params(), VmCreateKind.FromIso).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_password_error_does_not_reveal_it()
    {
        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("graphics", "vnc,listen=0.0.0.0,password=Bad_Secret"))));

        Assert.DoesNotContain("Bad_Secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uuid_comes_from_metadata_when_it_is_a_uuid_otherwise_from_the_object_uid()
    {
        var fromMetadata = Build(Params(("metadata", "uuid=950646e8-c17a-49d0-b83c-1c797811e001")), uid: Guid.NewGuid());
        Assert.Equal(Guid.Parse("950646e8-c17a-49d0-b83c-1c797811e001"), fromMetadata.Uuid);
        Assert.Equal("950646e8-c17a-49d0-b83c-1c797811e001", Root(fromMetadata).Element("uuid")!.Value);

        var uid = Guid.Parse("0d9e6f2a-52c4-4b7e-9d43-6c1a0f5e8b21");
        Assert.Equal(uid, Build(Params(), uid: uid).Uuid);
    }

    [Fact]
    public void A_non_uuid_metadata_value_gives_a_stable_derived_uuid_and_is_kept_in_metadata()
    {
        var first = Build(Params(("metadata", "uuid=tenant-a.vm-0001")));
        var second = Build(Params(("metadata", "uuid=tenant-a.vm-0001")));

        Assert.Equal(first.Uuid, second.Uuid);
        Assert.Equal(5, first.Uuid.Version);
        Assert.Contains("uuid=tenant-a.vm-0001", first.Xml, StringComparison.Ordinal);
    }

    [Fact]
    public void Building_twice_gives_identical_xml_so_retries_define_the_same_domain()
    {
        var parameters = Params(("network", "type=l3bridge,source=br-int --network type=bridge,source=virbr0"));

        Assert.Equal(Build(parameters).Xml, Build(parameters).Xml);
    }

    [Fact]
    public void L3bridge_nic_plugs_into_ovs_with_a_stable_interface_id_and_l2bridge_without_one()
    {
        var result = Build(Params(("network", "type=l3bridge,source=br-int,ip=10.0.0.5,switch=sw-one --network type=l2bridge,source=br-native")));

        var nics = Root(result).Element("devices")!.Elements("interface").ToList();
        Assert.All(nics, n => Assert.Equal("bridge", (string?)n.Attribute("type")));
        Assert.Equal("br-int", (string?)nics[0].Element("source")!.Attribute("bridge"));
        Assert.Equal("openvswitch", (string?)nics[0].Element("virtualport")!.Attribute("type"));
        Assert.Equal(result.Nics[0].InterfaceId, (string?)nics[0].Element("virtualport")!.Element("parameters")!.Attribute("interfaceid"));
        Assert.Equal("openvswitch", (string?)nics[1].Element("virtualport")!.Attribute("type"));
        Assert.Null(nics[1].Element("virtualport")!.Element("parameters"));
        Assert.Null(result.Nics[1].InterfaceId);
        Assert.Equal(("10.0.0.5", "sw-one"), (result.Nics[0].Ip, result.Nics[0].Switch));
    }

    [Fact]
    public void Linux_bridge_nic_has_no_virtualport_and_bandwidth_is_in_kib()
    {
        var result = Build(Params(("network", "type=bridge,source=virbr0,inbound=1000,outbound=2000,mac=52:54:00:00:00:07")));

        var nic = Root(result).Element("devices")!.Element("interface")!;
        Assert.Null(nic.Element("virtualport"));
        Assert.Equal("52:54:00:00:00:07", (string?)nic.Element("mac")!.Attribute("address"));
        Assert.Equal("1000", (string?)nic.Element("bandwidth")!.Element("inbound")!.Attribute("average"));
        Assert.Equal("2000", (string?)nic.Element("bandwidth")!.Element("outbound")!.Attribute("average"));
    }

    [Fact]
    public void Serial_console_is_logged_to_the_nodes_serial_directory_and_the_guest_agent_channel_exists()
    {
        var devices = Root(Build(Params())).Element("devices")!;

        Assert.Equal("/var/log/kubestack/serial/vm1-serial.log", (string?)devices.Element("serial")!.Element("log")!.Attribute("file"));
        Assert.Equal("pty", (string?)devices.Element("console")!.Attribute("type"));
        Assert.Equal(DomainXmlBuilder.GuestAgentChannel, (string?)devices.Element("channel")!.Element("target")!.Attribute("name"));
        Assert.Equal("virtio", (string?)devices.Element("memballoon")!.Attribute("model"));
    }

    [Fact]
    public void Vcpus_with_current_below_maximum_and_topology()
    {
        var root = Root(Build(Params(("vcpus", "2,cpuset=1-4,maxvcpus=4,sockets=2,cores=2"))));

        var vcpu = root.Element("vcpu")!;
        Assert.Equal("4", vcpu.Value);
        Assert.Equal("2", (string?)vcpu.Attribute("current"));
        Assert.Equal("1-4", (string?)vcpu.Attribute("cpuset"));
        var topology = root.Element("cpu")!.Element("topology")!;
        Assert.Equal(("2", "2", "1"), ((string?)topology.Attribute("sockets"), (string?)topology.Attribute("cores"), (string?)topology.Attribute("threads")));
    }

    [Fact]
    public void Cputune_pinning_a_vcpu_beyond_the_maximum_is_refused()
    {
        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("cputune", "vcpupin0.vcpu=5,vcpupin0.cpuset=1"))));

        Assert.Contains("pins vCPU 5, but the VM has vCPUs 0 to 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Memory_is_in_mib()
    {
        var root = Root(Build(Params()));

        Assert.Equal(("MiB", "512"), ((string?)root.Element("memory")!.Attribute("unit"), root.Element("memory")!.Value));
    }

    [Theory]
    [InlineData("memory", "99")]
    [InlineData("memory", "lots")]
    [InlineData("boot", "floppy")]
    [InlineData("boot", "hd,hd")]
    [InlineData("livecd", "maybe")]
    [InlineData("noautoconsole", "false")]
    [InlineData("cdrom", "/opt/iso/install-media.iso")]
    [InlineData("network", "type=bridge")]
    public void Invalid_parameters_are_refused_naming_the_parameter(string key, string value)
    {
        var ex = Assert.Throws<DomainBuildException>(() => VmCreateParameters.Parse(Params((key, value)), VmCreateKind.FromIso));

        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undocumented_parameters_are_refused()
    {
        var parameters = Params();
        parameters["_import"] = "true";

        var ex = Assert.Throws<DomainBuildException>(() => VmCreateParameters.Parse(parameters, VmCreateKind.FromIso));

        Assert.Contains("'_import' is not documented", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_parameters_are_all_listed()
    {
        var ex = Assert.Throws<DomainBuildException>(() => VmCreateParameters.Parse(new JsonObject(), VmCreateKind.FromImage));

        foreach (var key in new[] { "graphics", "disk", "network", "vcpus", "memory", "os_variant" })
        {
            Assert.Contains(ex.Problems, p => p.Contains($"'{key}'", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Q35_machine_puts_cdroms_on_sata_and_refuses_ide()
    {
        var q35 = LabNode with { Machine = "q35" };

        var result = Build(Params(), node: q35);
        Assert.Equal(("sda", "sata"), (result.Disks[1].Target, result.Disks[1].Bus));

        var ex = Assert.Throws<DomainBuildException>(() =>
            Build(Params(("disk", "/var/lib/libvirt/images/vm1.qcow2 --disk /var/lib/libvirt/iso/i.iso,device=cdrom,target=hdc")), node: q35));
        Assert.Contains("has no IDE bus", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_four_ide_devices_are_refused()
    {
        var disks = "/var/lib/libvirt/images/a.qcow2,bus=ide --disk /var/lib/libvirt/images/b.qcow2,bus=ide --disk /var/lib/libvirt/images/c.qcow2,bus=ide " +
                    "--disk /var/lib/libvirt/images/d.qcow2,bus=ide --disk /var/lib/libvirt/iso/i.iso,device=cdrom";

        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("disk", disks))));

        Assert.Contains("four units", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Spicevmc_usb_redirection_needs_spice_graphics()
    {
        var ex = Assert.Throws<DomainBuildException>(() => Build(Params(("redirdev", "usb,type=spicevmc"))));

        Assert.Contains("needs spice graphics", ex.Message, StringComparison.Ordinal);
        var ok = Root(Build(Params(("redirdev", "usb,type=spicevmc"), ("graphics", "spice,listen=127.0.0.1"))));
        Assert.Equal("spicevmc", (string?)ok.Element("devices")!.Element("redirdev")!.Attribute("type"));
        Assert.Equal("usb", (string?)ok.Element("devices")!.Element("controller")!.Attribute("type"));
    }
}
