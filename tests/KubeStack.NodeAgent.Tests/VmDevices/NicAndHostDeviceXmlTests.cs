using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Tests.Builders;

namespace KubeStack.NodeAgent.Tests.VmDevices;

/// <summary>
/// The NIC, host-device and USB-redirection builders (plugNIC, passthroughDevice, redirectUsb): golden files in
/// <c>Builders/Devices/testassets/</c> (<c>UPDATE_GOLDEN=1</c> rewrites them), each checked by libvirt's schema
/// (virt-xml-validate, wrapped in a minimal domain) and parser (test driver); plus the admission checks of the ten
/// operations (bad parameters are refused before any agent sees them).
/// </summary>
public class NicAndHostDeviceXmlTests
{
    private const string InterfaceId = "3f1b0c2a-5d4e-5a6b-8c7d-9e0f1a2b3c4d";

    private static readonly Dictionary<string, Func<XElement>> Devices = new()
    {
        ["nic-bridge"] = () => NicDeviceXml.Build(new NicDeviceSpec(NicType.Bridge, "virbr0", "52:54:00:AA:01:02")),
        ["nic-l2bridge-vlan-bandwidth"] = () => NicDeviceXml.Build(new NicDeviceSpec(
            NicType.L2Bridge, "br-native", "7e:0c:b0:ef:6a:04", VlanTag: 100, InboundKiB: 1024000, OutboundKiB: 2048)),
        ["nic-l3bridge"] = () => NicDeviceXml.Build(new NicDeviceSpec(NicType.L3Bridge, "br-int", "7e:0c:b0:ef:6a:05", InterfaceId)),
        ["hostdev-pci"] = () => HostDeviceXml.Build(HostDeviceAddress.Pci(0x01, 0x00, 0)),
        ["hostdev-pci-high"] = () => HostDeviceXml.Build(HostDeviceAddress.Pci(0xaf, 0x1f, 7)),
        ["hostdev-usb"] = () => HostDeviceXml.Build(HostDeviceAddress.Usb(1, 2)),
        ["redirdev-spicevmc"] = HostDeviceXml.SpiceUsbRedirection,
    };

    public static TheoryData<string> DeviceCases => new(Devices.Keys);

    private static string AssetDir => Path.Combine(AppContext.BaseDirectory, "Builders", "Devices", "testassets");

    [Theory]
    [MemberData(nameof(DeviceCases))]
    public void Device_builds_the_golden_xml(string name) => AssertGolden(name, Devices[name]().ToString());

    [Fact]
    public void Builders_are_pure_the_same_spec_gives_the_same_xml()
    {
        foreach (var build in Devices.Values) Assert.Equal(build().ToString(), build().ToString());
    }

    [Fact]
    public void An_l3bridge_nic_needs_its_ovn_interface_id_and_only_l2bridge_carries_a_vlan()
    {
        Assert.Throws<ArgumentException>(() => NicDeviceXml.Build(new NicDeviceSpec(NicType.L3Bridge, "br-int", "52:54:00:00:00:01")));
        Assert.Throws<ArgumentException>(() => NicDeviceXml.Build(new NicDeviceSpec(NicType.Bridge, "virbr0", "52:54:00:00:00:01", VlanTag: 5)));
    }

    [Fact]
    public void Nic_is_found_by_mac_in_any_case_with_its_interface_id_and_bridge()
    {
        var domain = Domain(Devices["nic-l3bridge"]());
        var nic = NicDeviceXml.Find(domain, "7E:0C:B0:EF:6A:05");
        Assert.NotNull(nic);
        Assert.Equal(InterfaceId, NicDeviceXml.InterfaceIdOf(nic));
        Assert.Equal("br-int", NicDeviceXml.BridgeOf(nic));
        Assert.Null(NicDeviceXml.Find(domain, "7e:0c:b0:ef:6a:06"));
    }

    [Fact]
    public void Host_device_is_found_whether_libvirt_writes_hex_or_decimal_numbers()
    {
        var pci = XElement.Parse("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>");
        var usb = XElement.Parse("<hostdev mode='subsystem' type='usb' managed='yes'><source><address bus='1' device='2'/></source></hostdev>");
        var domain = Domain(pci, usb);
        Assert.NotNull(HostDeviceXml.Find(domain, HostDeviceAddress.Pci(1, 0, 0)));
        Assert.NotNull(HostDeviceXml.Find(domain, HostDeviceAddress.Usb(1, 2)));
        Assert.Null(HostDeviceXml.Find(domain, HostDeviceAddress.Pci(1, 0, 1)));
        Assert.Null(HostDeviceXml.Find(domain, HostDeviceAddress.Usb(1, 3)));
        Assert.Equal("PCI device 0000:af:1f.7", HostDeviceAddress.Pci(0xaf, 0x1f, 7).Describe());
        Assert.Equal("USB device 001:002", HostDeviceAddress.Usb(1, 2).Describe());
    }

    [Fact]
    public void Hot_plugged_l3bridge_interface_id_is_stable_per_domain_and_mac()
    {
        var uuid = Guid.Parse("11111111-2222-3333-4444-555555555555");
        Assert.Equal(PlugNICHandler.InterfaceIdFor(uuid, "7E:0C:B0:EF:6A:04"), PlugNICHandler.InterfaceIdFor(uuid, "7e:0c:b0:ef:6a:04"));
        Assert.NotEqual(PlugNICHandler.InterfaceIdFor(uuid, "7e:0c:b0:ef:6a:04"), PlugNICHandler.InterfaceIdFor(uuid, "7e:0c:b0:ef:6a:05"));
        Assert.True(Guid.TryParse(PlugNICHandler.InterfaceIdFor(uuid, "7e:0c:b0:ef:6a:04"), out _));
    }

    [Fact]
    public void Missing_host_devices_are_named_from_sysfs()
    {
        var root = Directory.CreateTempSubdirectory("kst-sysfs-").FullName;
        var saved = PassthroughDeviceHandler.SysfsRoot;
        try
        {
            PassthroughDeviceHandler.SysfsRoot = root;
            Directory.CreateDirectory(Path.Combine(root, "bus", "pci", "devices", "0000:01:00.0"));
            Assert.Null(PassthroughDeviceHandler.WhyMissing(HostDeviceAddress.Pci(1, 0, 0)));
            Assert.Contains("0000:02:00.0 does not exist", PassthroughDeviceHandler.WhyMissing(HostDeviceAddress.Pci(2, 0, 0)), StringComparison.Ordinal);
            Assert.Contains("no USB bus", PassthroughDeviceHandler.WhyMissing(HostDeviceAddress.Usb(1, 2)), StringComparison.Ordinal);
            var usb = Directory.CreateDirectory(Path.Combine(root, "bus", "usb", "devices", "1-1")).FullName;
            File.WriteAllText(Path.Combine(usb, "busnum"), "1\n");
            File.WriteAllText(Path.Combine(usb, "devnum"), "2\n");
            Assert.Null(PassthroughDeviceHandler.WhyMissing(HostDeviceAddress.Usb(1, 2)));
            Assert.Contains("busnum 1 and devnum 3", PassthroughDeviceHandler.WhyMissing(HostDeviceAddress.Usb(1, 3)), StringComparison.Ordinal);
        }
        finally
        {
            PassthroughDeviceHandler.SysfsRoot = saved;
            Directory.Delete(root, recursive: true);
        }
    }

    [RequiresToolTheory("virt-xml-validate")]
    [MemberData(nameof(DeviceCases))]
    public async Task Device_wrapped_in_a_domain_passes_libvirts_schema(string name)
    {
        var file = await WrapAsync(name, Devices[name]());
        try
        {
            var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", file, "domain");
            Assert.True(exitCode == 0, $"virt-xml-validate rejected {name}:\n{output}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [RequiresToolFact("virt-xml-validate")]
    public async Task Schema_check_of_a_broken_hostdev_fails()
    {
        var broken = HostDeviceXml.Build(HostDeviceAddress.Pci(1, 0, 0));
        broken.SetAttributeValue("type", "gpu");
        var file = await WrapAsync("broken-hostdev", broken);
        try
        {
            var (exitCode, _) = await Tool.RunAsync("virt-xml-validate", file, "domain");
            Assert.NotEqual(0, exitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [RequiresToolTheory("virsh")]
    [MemberData(nameof(DeviceCases))]
    public async Task Device_wrapped_in_a_domain_is_accepted_by_libvirts_parser(string name)
    {
        // the redirection channel needs SPICE graphics and a USB controller in the same domain
        XElement[] extra = name.StartsWith("redirdev", StringComparison.Ordinal)
            ? [new XElement("graphics", new XAttribute("type", "spice")), new XElement("controller", new XAttribute("type", "usb"), new XAttribute("model", "qemu-xhci"))]
            : [];
        var file = await WrapAsync(name, Devices[name](), extra);
        try
        {
            var (exitCode, output) = await Tool.RunAsync("virsh", "-c", "test:///default", "define", file);
            Assert.True(exitCode == 0, $"libvirt refused {name}:\n{output}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    // ------------------------------------------------------------------ admission (RequestValidator)

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "plugNIC", """{"type":"l2bridge","source":"source=br-native","mac":"fe:54:00:00:00:01"}""", "mac" },
        { "plugNIC", """{"type":"bridge","source":"source=virbr0,ip=192.168.5.2,switch=sw1","mac":"52:54:00:00:00:01"}""", "source" },
        { "plugNIC", """{"type":"ovs","source":"source=br-native","mac":"52:54:00:00:00:01"}""", "type" },
        { "plugNIC", """{"type":"bridge","source":"source=virbr0","mac":"52:54:00:00:00:01","inbound":"100000000"}""", "inbound" },
        { "unplugNIC", """{"type":"true","mac":"52:54:00:00:00:01"}""", "type" },
        { "unplugNIC", """{"type":"bridge","mac":"52-54-00-00-00-01"}""", "mac" },
        { "tuneDiskQoS", """{"device":"vdb1","total_bytes_sec":"1048576"}""", "device" },
        { "tuneDiskQoS", """{"device":"vdb","total_bytes_sec":"1048576","read_bytes_sec":"1024"}""", "total_bytes_sec" },
        { "tuneDiskQoS", """{"device":"vdb","read_iops_sec":"100000"}""", "read_iops_sec" },
        { "tuneNICQoS", """{"_interface":"52:54:00:00:00:01","inbound":"1GiB"}""", "inbound" },
        { "tuneNICQoS", """{"inbound":"1024"}""", "_interface" },
        { "setGuestPassword", """{"os_type":"linux","user":"root","password":"Secret!"}""", "password" },
        { "setGuestPassword", """{"os_type":"macos","user":"root","password":"abcdefg"}""", "os_type" },
        { "injectSshKey", """{"os_type":"linux","user":"root","ssh_key":"not a key at all"}""", "ssh_key" },
        { "injectSshKey", """{"os_type":"linux","user":"-root","ssh_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvYk9bN3d1c2VyQGxhYi5leGFtcGxlLmNvbQ"}""", "user" },
        { "passthroughDevice", """{"action":"add","bus_num":"01","sub_bus_num":"20","dev_num":"0","dev_type":"pci"}""", "sub_bus_num" },
        { "passthroughDevice", """{"action":"plug","bus_num":"01","sub_bus_num":"00","dev_num":"0","dev_type":"pci"}""", "action" },
        { "passthroughDevice", """{"action":"add","bus_num":"1","sub_bus_num":"0","dev_num":"200","dev_type":"usb"}""", "dev_num" },
        { "redirectUsb", """{"action":"on","number":"9"}""", "number" },
        { "redirectUsb", """{"action":"yes"}""", "action" },
        { "plugDevice", """{"file":"/etc/libvirt/qemu/dev.xml"}""", "file" },
        { "unplugDevice", """{"file":"/var/lib/libvirt/../../etc/passwd"}""", "file" },
        { "plugNIC", """{"type":"bridge","source":"source=virbr0","mac":"52:54:00:00:00:01","live":true,"current":true}""", "current" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void Bad_parameter_is_refused_at_admission_naming_the_field(string key, string parameters, string field)
    {
        var errors = RequestValidator.Validate("VirtualMachine", "kst-vm1", Spec(key, parameters));
        Assert.Contains(errors, e => e.Field == $"spec.lifecycle.{key}.{field}" || e.Message.Contains($"'{field}'", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Message.Contains("Secret!", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> GoodRequests => new()
    {
        { "plugNIC", """{"type":"l3bridge","source":"source=br-int,ip=192.168.5.2,switch=switch","mac":"7e:0c:b0:ef:6a:04","inbound":"1024000"}""" },
        { "unplugNIC", """{"type":"l3bridge","mac":"7e:0c:b0:ef:6a:04"}""" },
        { "tuneDiskQoS", """{"device":"vdc","total_bytes_sec":"1073741824","read_iops_sec":"40000","live":true}""" },
        { "tuneNICQoS", """{"_interface":"7e:0c:b0:ef:6a:04","inbound":"1024000","outbound":"1024000"}""" },
        { "setGuestPassword", """{"os_type":"linux","user":"root","password":"abcdefg"}""" },
        { "injectSshKey", """{"os_type":"linux","user":"root","ssh_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXpEYi5Wk8fd3Kx4s1y3Y0QnK0wUQmQ9XGk5k3sJZ2B root@node22"}""" },
        { "passthroughDevice", """{"action":"add","bus_num":"01","sub_bus_num":"00","dev_num":"0","dev_type":"pci"}""" },
        { "redirectUsb", """{"action":"on","number":"4"}""" },
        { "plugDevice", """{"file":"/var/lib/libvirt/unplug.xml"}""" },
        { "unplugDevice", """{"file":"/var/lib/libvirt/unplug.xml"}""" },
    };

    [Theory]
    [MemberData(nameof(GoodRequests))]
    public void Documented_request_passes_admission(string key, string parameters) =>
        Assert.Empty(RequestValidator.Validate("VirtualMachine", "kst-vm1", Spec(key, parameters)));

    private static JsonObject Spec(string key, string parameters) =>
        new() { ["lifecycle"] = new JsonObject { [key] = JsonNode.Parse(parameters) } };

    private static XDocument Domain(params XElement[] devices) =>
        new(new XElement("domain", new XElement("devices", devices.Select(d => new XElement(d)))));

    private static void AssertGolden(string name, string xml)
    {
        var path = Path.Combine(AssetDir, name + ".xml");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            var source = Path.Combine(FindSourceDir(), name + ".xml");
            File.WriteAllText(source, xml);
            File.WriteAllText(path, xml);
        }

        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with UPDATE_GOLDEN=1.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), xml.ReplaceLineEndings("\n"));
    }

    private static string FindSourceDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "KubeStack.NodeAgent.Tests", "Builders", "Devices", "testassets");
            if (Directory.Exists(candidate)) return candidate;
        }

        return AssetDir;
    }

    /// <summary>A minimal domain holding the device (virt-xml-validate checks whole documents).</summary>
    private static async Task<string> WrapAsync(string name, XElement device, params XElement[] extra)
    {
        var domain = new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", "kst-nicdev-" + name),
            new XElement("memory", new XAttribute("unit", "MiB"), 128),
            new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm")),
            new XElement("devices", new XElement("emulator", "/usr/bin/qemu-system-x86_64"), device, extra));
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-nicdev-{name}-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, domain.ToString());
        return file;
    }
}
