using System.Xml.Linq;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Tests.Builders;

namespace KubeStack.NodeAgent.Tests.VmDevices;

/// <summary>
/// Golden files of the device builders: <c>Builders/Devices/testassets/&lt;case&gt;.xml</c>. Each device is also wrapped
/// in a minimal domain and checked with libvirt's schema (virt-xml-validate validates whole documents only) and
/// libvirt's own parser (test driver). <c>UPDATE_GOLDEN=1</c> rewrites the files (review the diff).
/// </summary>
public class DeviceXmlGoldenTests
{
    private static readonly Dictionary<string, Func<XElement>> Devices = new()
    {
        ["disk-virtio-qcow2"] = () => DiskDeviceXml.Build(new DiskDeviceSpec("/var/lib/libvirt/images/data1.qcow2", "vdb")),
        ["disk-iotune-cache-shareable"] = () => DiskDeviceXml.Build(new DiskDeviceSpec(
            "/var/lib/libvirt/images/data2.raw", "vdc", DriverType: "raw", Cache: "none", Mode: "shareable",
            IoTune: new DiskIoTune(TotalBytesSec: 1073741824, ReadIopsSec: 40000, WriteIopsSec: 40000))),
        ["disk-block-lun-sgio-filtered-readonly"] = () => DiskDeviceXml.Build(new DiskDeviceSpec(
            "/dev/sdz", "sdb", Bus: "scsi", Device: "lun", SourceType: "block", DriverType: "raw", Sgio: "filtered", Mode: "readonly")),
        ["disk-cdrom-ide"] = () => DiskDeviceXml.Build(new DiskDeviceSpec("/var/lib/libvirt/images/lab.iso", "hdc", Bus: "ide", Device: "cdrom", DriverType: "raw")),
    };

    public static TheoryData<string> DeviceCases => new(Devices.Keys);

    private static string AssetDir => Path.Combine(AppContext.BaseDirectory, "Builders", "Devices", "testassets");

    /// <summary>The source tree's copy (rewritten with UPDATE_GOLDEN=1).</summary>
    private static string SourceAssetDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "KubeStack.NodeAgent.Tests", "Builders", "Devices", "testassets");
                if (Directory.Exists(candidate)) return candidate;
            }

            return AssetDir;
        }
    }

    [Theory]
    [MemberData(nameof(DeviceCases))]
    public void Device_builds_the_golden_xml(string name) => AssertGolden(name, Devices[name]().ToString());

    [Fact]
    public void Boot_order_edit_builds_the_golden_domain()
    {
        var edited = BootOrderXml.Apply(XDocument.Parse(SampleDomain), ["hdc", "vda"]);
        AssertGolden("boot-order-hdc-vda", edited.ToString());
        Assert.Equal(["hdc", "vda"], BootOrderXml.Read(edited));
        Assert.Empty(edited.Root!.Element("os")!.Elements("boot"));
    }

    [Fact]
    public void Boot_order_naming_a_missing_target_lists_the_targets_the_vm_has()
    {
        var ex = Assert.Throws<BootTargetMissingException>(() => BootOrderXml.Apply(XDocument.Parse(SampleDomain), ["vdz"]));
        Assert.Equal("vdz", ex.Target);
        Assert.Contains("it has: vda, hdc", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builders_are_pure_the_same_spec_gives_the_same_xml()
    {
        foreach (var build in Devices.Values)
        {
            Assert.Equal(build().ToString(), build().ToString());
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
    public async Task Boot_order_golden_passes_libvirts_schema()
    {
        var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", Path.Combine(AssetDir, "boot-order-hdc-vda.xml"), "domain");
        Assert.True(exitCode == 0, output);
    }

    [RequiresToolFact("virt-xml-validate")]
    public async Task Schema_check_of_a_wrapped_device_can_fail()
    {
        var broken = DiskDeviceXml.Build(new DiskDeviceSpec("/var/lib/libvirt/images/x.qcow2", "vdb"));
        broken.Element("target")!.Remove();
        broken.SetAttributeValue("device", "bogus");
        var file = await WrapAsync("broken", broken);
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
        var file = await WrapAsync(name, Devices[name]());
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

    internal static void AssertGolden(string name, string xml)
    {
        var path = Path.Combine(AssetDir, name + ".xml");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(Path.Combine(SourceAssetDir, name + ".xml"), xml);
            File.WriteAllText(path, xml);
        }

        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with UPDATE_GOLDEN=1.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), xml.ReplaceLineEndings("\n"));
    }

    /// <summary>A minimal domain holding the device (virt-xml-validate checks whole documents).</summary>
    internal static async Task<string> WrapAsync(string name, XElement device)
    {
        var domain = new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", "kst-device-" + name),
            new XElement("memory", new XAttribute("unit", "MiB"), 128),
            new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm")),
            new XElement("devices", new XElement("emulator", "/usr/bin/qemu-system-x86_64"), device));
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-device-{name}-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, domain.ToString());
        return file;
    }

    private const string SampleDomain = """
        <domain type="qemu">
          <name>kst-boot</name>
          <memory unit="MiB">128</memory>
          <os>
            <type arch="x86_64" machine="pc">hvm</type>
            <boot dev="cdrom" />
            <boot dev="hd" />
          </os>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2" />
              <source file="/var/lib/libvirt/images/root.qcow2" />
              <target dev="vda" bus="virtio" />
            </disk>
            <disk type="file" device="cdrom">
              <driver name="qemu" type="raw" />
              <source file="/var/lib/libvirt/images/lab.iso" />
              <target dev="hdc" bus="ide" />
              <readonly />
            </disk>
          </devices>
        </domain>
        """;
}
