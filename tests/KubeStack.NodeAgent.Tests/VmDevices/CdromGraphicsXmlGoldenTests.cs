using System.Xml.Linq;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Tests.Builders;

namespace KubeStack.NodeAgent.Tests.VmDevices;

/// <summary>
/// Golden files of the CD-ROM media and graphics builders (manageISO/insertISO/ejectISO, setVncPassword,
/// unsetVncPassword, updateGraphic), in <c>Builders/Devices/testassets/</c> like <see cref="DeviceXmlGoldenTests"/>; every
/// device is also checked with libvirt's schema (virt-xml-validate) and parser (test driver). The passwords here are
/// test values.
/// </summary>
public class CdromGraphicsXmlGoldenTests
{
    private static readonly XElement LiveVnc = XElement.Parse(
        """
        <graphics type="vnc" port="5901" autoport="yes" listen="127.0.0.1" passwdValidTo="2030-01-01T00:00:00">
          <listen type="address" address="127.0.0.1" />
        </graphics>
        """);

    private static readonly Dictionary<string, Func<XElement>> Devices = new()
    {
        ["cdrom-insert-ide"] = () => CdromDeviceXml.Build(new CdromMediaSpec("hdc", "ide", "/var/lib/libvirt/iso/lab.iso")),
        ["cdrom-eject-ide"] = () => CdromDeviceXml.Build(new CdromMediaSpec("hdc", "ide", null)),
        ["cdrom-block-sata"] = () => CdromDeviceXml.Build(new CdromMediaSpec("sda", "sata", "/dev/sr0", Block: true)),
        ["graphics-vnc-set-password"] = () => GraphicsXml.WithPassword(LiveVnc, "abcd-1234"),
        ["graphics-vnc-unset-password"] = () => GraphicsXml.WithPassword(GraphicsXml.WithPassword(LiveVnc, "abcd-1234"), null),
    };

    public static TheoryData<string> DeviceCases => new(Devices.Keys);

    public static TheoryData<string, string, string?, bool> GraphicsChanges => new()
    {
        { "graphics-update-spice-keep-password", "spice", null, false },
        { "graphics-update-vnc-new-password", "vnc", "newpw-42", false },
        { "graphics-update-vnc-no-password", "vnc", null, true },
    };

    [Theory]
    [MemberData(nameof(DeviceCases))]
    public void Device_builds_the_golden_xml(string name) => DeviceXmlGoldenTests.AssertGolden(name, Devices[name]().ToString());

    [Theory]
    [MemberData(nameof(GraphicsChanges))]
    public void Graphics_change_builds_the_golden_domain(string name, string type, string? password, bool remove) =>
        DeviceXmlGoldenTests.AssertGolden(name, GraphicsXml.Replace(XDocument.Parse(SampleDomain), new GraphicsChange(type, password, remove)).ToString());

    [Fact]
    public void Graphics_change_keeps_the_listen_address_and_the_password_unless_told_otherwise()
    {
        var spice = GraphicsXml.Replace(XDocument.Parse(SampleDomain), new GraphicsChange("spice"));
        var g = Assert.Single(spice.Root!.Element("devices")!.Elements("graphics"));
        Assert.Equal(("spice", "0.0.0.0", "old-pass"), ((string?)g.Attribute("type"), (string?)g.Attribute("listen"), (string?)g.Attribute("passwd")));

        var none = GraphicsXml.Replace(XDocument.Parse(SampleDomain), new GraphicsChange("vnc", RemovePassword: true));
        Assert.Null(Assert.Single(none.Root!.Element("devices")!.Elements("graphics")).Attribute("passwd"));

        var noConsole = XDocument.Parse(SampleDomain);
        noConsole.Root!.Element("devices")!.Elements("graphics").Remove();
        var added = GraphicsXml.Replace(noConsole, new GraphicsChange("vnc", "abcd"));
        Assert.Equal("abcd", (string?)Assert.Single(added.Root!.Element("devices")!.Elements("graphics")).Attribute("passwd"));
    }

    [Fact]
    public void Password_edit_keeps_port_and_listen_and_drops_the_old_expiry()
    {
        var set = GraphicsXml.WithPassword(LiveVnc, "abcd-1234");
        Assert.Equal(("5901", "yes", "127.0.0.1", "abcd-1234"),
            ((string?)set.Attribute("port"), (string?)set.Attribute("autoport"), (string?)set.Attribute("listen"), (string?)set.Attribute("passwd")));
        Assert.Null(set.Attribute("passwdValidTo"));
        Assert.Null(LiveVnc.Attribute("passwd"));   // pure: the input is not touched
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
        var file = await DeviceXmlGoldenTests.WrapAsync(name, Devices[name]());
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

    [RequiresToolTheory("virt-xml-validate")]
    [MemberData(nameof(GraphicsChanges))]
    public async Task Graphics_change_golden_passes_libvirts_schema(string name, string type, string? password, bool remove)
    {
        _ = (type, password, remove);
        var path = Path.Combine(AppContext.BaseDirectory, "Builders", "Devices", "testassets", name + ".xml");
        var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", path, "domain");
        Assert.True(exitCode == 0, $"virt-xml-validate rejected {name}:\n{output}");
    }

    [RequiresToolTheory("virsh")]
    [MemberData(nameof(DeviceCases))]
    public async Task Device_wrapped_in_a_domain_is_accepted_by_libvirts_parser(string name)
    {
        var file = await DeviceXmlGoldenTests.WrapAsync(name, Devices[name]());
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

    private const string SampleDomain = """
        <domain type="qemu">
          <name>kst-graphics</name>
          <memory unit="MiB">128</memory>
          <os>
            <type arch="x86_64" machine="pc">hvm</type>
          </os>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <graphics type="vnc" port="-1" autoport="yes" listen="0.0.0.0" passwd="old-pass">
              <listen type="address" address="0.0.0.0" />
            </graphics>
            <video>
              <model type="cirrus" />
            </video>
          </devices>
        </domain>
        """;
}
