using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;
using KubeStack.NodeAgent.Tests.Builders;

namespace KubeStack.NodeAgent.Tests.Images;

/// <summary>The pure parts of cloneVM, the VM image operations and resizeVM: definitions rewritten onto copies, templates, views, sizes.</summary>
public sealed class VmCopyDefinitionTests
{
    private static readonly NodeDomainSettings Node = new("qemu", "/usr/bin/qemu-system-x86_64", "pc", SerialLogDirectory: "/var/log/kubestack/serial");

    private static XElement Source() => XElement.Parse("""
        <domain type="qemu">
          <name>web</name>
          <uuid>2f1e6a4c-7a3b-4c55-9d2e-0a1b2c3d4e5f</uuid>
          <os><type arch="x86_64" machine="pc">hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram></os>
          <devices>
            <disk type="file" device="disk">
              <driver name="qemu" type="qcow2"/>
              <source file="/var/lib/libvirt/images/web"/>
              <backingStore type="file"><format type="qcow2"/><source file="/var/lib/libvirt/images/base"/></backingStore>
              <target dev="vda" bus="virtio"/>
            </disk>
            <disk type="file" device="disk">
              <driver name="qemu" type="raw"/>
              <source file="/var/lib/libvirt/images/web-data"/>
              <target dev="vdb" bus="virtio"/>
            </disk>
            <disk type="file" device="cdrom">
              <driver name="qemu" type="raw"/>
              <source file="/var/lib/libvirt/iso/install.iso"/>
              <target dev="hdc" bus="ide"/>
            </disk>
            <interface type="bridge">
              <mac address="52:54:00:aa:bb:cc"/>
              <source bridge="br-int"/>
              <virtualport type="openvswitch"><parameters interfaceid="11111111-2222-3333-4444-555555555555"/></virtualport>
              <target dev="vnet3"/>
            </interface>
            <interface type="bridge"><mac address="52:54:00:aa:bb:cd"/><source bridge="virbr0"/></interface>
            <serial type="pty"><log file="/var/log/kubestack/serial/web-serial.log" append="off"/><target port="0"/></serial>
            <graphics type="vnc" port="-1" autoport="yes" passwd="s3cret-pw"/>
          </devices>
        </domain>
        """);

    [Fact]
    public void FileDisks_lists_the_file_disks_in_order_without_cdroms()
    {
        Assert.Equal(
            [new DomainFileDisk("vda", "/var/lib/libvirt/images/web", "qcow2"), new DomainFileDisk("vdb", "/var/lib/libvirt/images/web-data", "raw")],
            VmDiskCopies.FileDisks(Source()));
    }

    [Fact]
    public void RetargetDisks_points_disks_at_standalone_copies_and_drops_their_recorded_backing_chains()
    {
        var domain = Source();
        VmDiskCopies.RetargetDisks(domain, new Dictionary<string, (string, string)> { ["vda"] = ("/mnt/localfs/p/web.vda", "qcow2"), ["vdb"] = ("/mnt/localfs/p/web.vdb", "qcow2") });

        Assert.Equal(
            [new DomainFileDisk("vda", "/mnt/localfs/p/web.vda", "qcow2"), new DomainFileDisk("vdb", "/mnt/localfs/p/web.vdb", "qcow2")],
            VmDiskCopies.FileDisks(domain));
        Assert.Empty(domain.Descendants("backingStore"));
        Assert.Contains(domain.Descendants("source"), s => (string?)s.Attribute("file") == "/var/lib/libvirt/iso/install.iso");
    }

    [Fact]
    public void Reidentify_gives_a_clone_its_name_uuid_macs_interface_ids_and_serial_log_and_drops_the_nvram_file()
    {
        var domain = Source();
        var uuid = CloneVMHandler.CloneUuid(Guid.Parse("2f1e6a4c-7a3b-4c55-9d2e-0a1b2c3d4e5f"), "web2");

        VmDiskCopies.Reidentify(domain, "web", "web2", uuid, "7E:0C:B0:EF:6A:04");

        Assert.Equal("web2", (string?)domain.Element("name"));
        Assert.Equal(uuid.ToString("D"), (string?)domain.Element("uuid"));
        Assert.Null(domain.Element("os")!.Element("nvram"));
        var nics = domain.Element("devices")!.Elements("interface").ToList();
        Assert.Equal("7e:0c:b0:ef:6a:04", (string?)nics[0].Element("mac")!.Attribute("address"));
        Assert.Equal(VmDiskCopies.DerivedMac(uuid, 1), (string?)nics[1].Element("mac")!.Attribute("address"));
        Assert.NotEqual("52:54:00:aa:bb:cd", VmDiskCopies.DerivedMac(uuid, 1));
        Assert.Null(nics[0].Element("target"));
        Assert.NotEqual("11111111-2222-3333-4444-555555555555", (string?)nics[0].Descendants("parameters").Single().Attribute("interfaceid"));
        Assert.Equal("/var/log/kubestack/serial/web2-serial.log", (string?)domain.Descendants("log").Single().Attribute("file"));
    }

    [Fact]
    public void The_clone_uuid_is_stable_for_the_same_source_and_name_and_differs_otherwise()
    {
        var source = Guid.Parse("2f1e6a4c-7a3b-4c55-9d2e-0a1b2c3d4e5f");
        Assert.Equal(CloneVMHandler.CloneUuid(source, "web2"), CloneVMHandler.CloneUuid(source, "web2"));
        Assert.NotEqual(CloneVMHandler.CloneUuid(source, "web2"), CloneVMHandler.CloneUuid(source, "web3"));
        Assert.NotEqual(source, CloneVMHandler.CloneUuid(source, "web2"));
        Assert.Equal("/var/lib/libvirt/images/web2-vda", CloneVMHandler.DefaultDiskPath("/var/lib/libvirt/images/web", "web2", "vda"));
    }

    [Fact]
    public void The_image_view_never_carries_the_graphics_password_but_the_template_keeps_it()
    {
        var template = Source();

        var view = VmImageStore.View(template);

        Assert.DoesNotContain("s3cret-pw", view.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("\"_type\":\"vnc\"", view.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("s3cret-pw", (string?)template.Descendants("graphics").Single().Attribute("passwd"));
    }

    [Fact]
    public void The_template_of_createImage_boots_one_virtio_qcow2_disk_with_defaults_and_no_nic()
    {
        var template = CreateImageHandler.Template("img1", "/mnt/localfs/pool1/img1.vda", Node);

        Assert.Equal("img1", (string?)template.Element("name"));
        Assert.Equal([new DomainFileDisk("vda", "/mnt/localfs/pool1/img1.vda", "qcow2")], VmDiskCopies.FileDisks(template));
        Assert.Empty(template.Element("devices")!.Elements("interface"));
        Assert.Equal("1024", (string?)template.Element("memory"));
        Assert.Null(template.Descendants("graphics").Single().Attribute("passwd"));
        Assert.Equal("img1.xml", VmImageStore.TemplateName("img1"));
        Assert.Equal("img1.vdb", VmImageStore.DiskName("img1", "vdb"));
        Assert.Equal("img1-vdb", ConvertImageToVMHandler.VmDiskName("img1", "vdb"));
    }

    [RequiresToolFact("virt-xml-validate")]
    public async Task The_template_and_a_clone_of_it_pass_libvirts_domain_schema()
    {
        var dir = Directory.CreateTempSubdirectory("kst-image-unit-").FullName;
        try
        {
            var template = CreateImageHandler.Template("img1", "/mnt/localfs/pool1/img1.vda", Node);
            var clone = new XElement(template);
            VmDiskCopies.Reidentify(clone, "img1", "img2", CloneVMHandler.CloneUuid(Guid.NewGuid(), "img2"), null);
            VmDiskCopies.RetargetDisks(clone, new Dictionary<string, (string, string)> { ["vda"] = ("/mnt/localfs/pool1/img2-vda", "raw") });
            foreach (var (name, xml) in new[] { ("template", template), ("clone", clone) })
            {
                var file = Path.Combine(dir, name + ".xml");
                await File.WriteAllTextAsync(file, xml.ToString());
                var (exitCode, output) = await Tool.RunAsync("virt-xml-validate", file, "domain");
                Assert.True(exitCode == 0, $"virt-xml-validate rejected the {name}:\n{output}\n{xml}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("1000000", 1_024_000_000L)]
    [InlineData("10,485,760", 10_737_418_240L)]
    [InlineData("999999999999", 1_023_999_999_998_976L)]
    public void ResizeVM_size_is_KiB_within_the_catalog_range(string text, long bytes) => Assert.Equal(bytes, ResizeVMHandler.SizeBytes(text));

    [Theory]
    [InlineData("999999", "from 1000000 to 999999999999 KiB")]
    [InlineData("1000000000000", "from 1000000 to 999999999999 KiB")]
    [InlineData("10G", "whole number of KiB")]
    public void ResizeVM_size_outside_the_range_names_the_parameter_and_the_rule(string text, string rule)
    {
        var ex = Assert.Throws<RequestParameterException>(() => ResizeVMHandler.SizeBytes(text));
        Assert.Equal("size", ex.Parameter);
        Assert.Contains("resizeVM.size", ex.Message, StringComparison.Ordinal);
        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_kinds_of_the_new_handlers_match_the_catalog()
    {
        var catalog = KubeStack.Contracts.Catalog.CatalogLoader.Default;
        Assert.NotNull(catalog.Find(Kinds.VirtualMachineImage, "createImage"));
        Assert.NotNull(catalog.Find(Kinds.VirtualMachineImage, "convertImageToVM"));
        Assert.NotNull(catalog.Find(Kinds.VirtualMachine, "cloneVM"));
        Assert.NotNull(catalog.Find(Kinds.VirtualMachine, "resizeVM"));
        Assert.NotNull(catalog.Find(Kinds.VirtualMachine, "convertVMToImage"));
    }
}
