using System.Runtime.CompilerServices;
using KubeStack.Contracts.Formats;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;
using KubeStack.NodeAgent.Lifecycle.Common;

namespace KubeStack.NodeAgent.Tests.Snapshots;

/// <summary>
/// Golden files of the VM snapshot XML builders (<c>Snapshots/testassets/&lt;case&gt;.xml</c>) and the readers of
/// libvirt's snapshot and domain XML. <c>UPDATE_GOLDEN=1</c> rewrites the files (review the diff).
/// </summary>
public class SnapshotXmlGoldenTests
{
    private static IReadOnlyList<DiskSnapshotSpec> Specs(string diskspec) => DiskSpecFormat.Parse(diskspec).GetValueOrThrow();

    private static readonly Dictionary<string, Func<string>> Builders = new()
    {
        ["create-external-two-disks"] = () => SnapshotXml.BuildCreate("snap1", SnapshotMode.External,
            Specs("vda,snapshot=external,file=/var/lib/libvirt/snapshots/snapshot1,driver=qcow2 --diskspec vdb,snapshot=no")),
        ["create-external-default-file"] = () => SnapshotXml.BuildCreate("snap2", SnapshotMode.External, Specs("vda"), ["vdb", "vdc"]),
        ["create-internal"] = () => SnapshotXml.BuildCreate("snap3", SnapshotMode.Internal, Specs("vda,snapshot=internal --diskspec vdb,snapshot=no"),
            description: "before upgrade"),
        ["copy-destination-chain"] = () => SnapshotXml.BuildCopyDestination("/mnt/localfs/pool1/disk1",
            [("/mnt/localfs/pool1/disk1.s2", "qcow2"), ("/mnt/localfs/pool1/disk1.s1", "qcow2"), ("/mnt/localfs/pool1/base", "raw")]),
        ["move-disk"] = () => SnapshotXml.MoveDisk(DomainXml, "vda", "/var/lib/libvirt/images/s2.qcow2.1"),
    };

    private const string DomainXml = """
        <domain type='qemu'><name>vm1</name><devices>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/s3.qcow2'/>
        <backingStore type='file'><format type='qcow2'/><source file='/var/lib/libvirt/images/s2.qcow2'/><backingStore/></backingStore>
        <target dev='vda' bus='virtio'/></disk>
        <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/data.raw'/><target dev='vdb' bus='virtio'/></disk>
        <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/a.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
        <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>
        </devices></domain>
        """;

    public static TheoryData<string> BuilderCases => new(Builders.Keys);

    [Theory]
    [MemberData(nameof(BuilderCases))]
    public void Builder_output_is_the_golden_xml(string name) => AssertGolden(name + ".xml", Builders[name]() + "\n");

    [Fact]
    public void Read_takes_the_overlay_from_the_disks_and_the_frozen_file_from_the_embedded_domain()
    {
        var xml = """
            <domainsnapshot><name>s2</name><state>disk-snapshot</state><parent><name>s1</name></parent>
            <memory snapshot='no'/>
            <disks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/d/s2.qcow2'/></disk>
            <disk name='vdb' snapshot='no'/></disks>
            <domain type='qemu'><name>vm1</name><devices>
            <disk type='file' device='disk'><source file='/d/s1.qcow2'/><target dev='vda'/></disk>
            <disk type='file' device='disk'><source file='/d/data'/><target dev='vdb'/></disk></devices></domain>
            </domainsnapshot>
            """;

        var d = SnapshotXml.Read(xml);

        Assert.Equal("s2", d.Name);
        Assert.Equal("s1", d.Parent);
        Assert.Equal("disk-snapshot", d.State);
        Assert.True(d.IsExternal);
        Assert.Equal([new ExternalSnapshotDisk("vda", "/d/s2.qcow2", "/d/s1.qcow2")], d.ExternalDisks);
        Assert.Empty(d.InternalDisks);
    }

    [Fact]
    public void Read_lists_internal_disks_and_no_external_ones_for_an_internal_snapshot()
    {
        var d = SnapshotXml.Read("<domainsnapshot><name>i1</name><state>running</state><disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>");

        Assert.False(d.IsExternal);
        Assert.Equal(["vda"], d.InternalDisks);
        Assert.Null(d.Parent);
    }

    [Fact]
    public void Chain_follows_the_backing_stores_of_the_live_xml()
    {
        Assert.Equal(["/var/lib/libvirt/images/s3.qcow2", "/var/lib/libvirt/images/s2.qcow2"], SnapshotXml.Chain(DomainXml, "vda"));
        Assert.Equal(["/var/lib/libvirt/images/data.raw"], SnapshotXml.Chain(DomainXml, "vdb"));
        Assert.Empty(SnapshotXml.Chain(DomainXml, "vdz"));
    }

    [Fact]
    public void Writable_disks_leave_out_read_only_cdroms_and_a_connected_agent_is_seen()
    {
        Assert.Equal([("vda", "/var/lib/libvirt/images/s3.qcow2"), ("vdb", "/var/lib/libvirt/images/data.raw")], SnapshotXml.WritableDisks(DomainXml));
        Assert.True(SnapshotXml.HasConnectedGuestAgent(DomainXml));
        Assert.False(SnapshotXml.HasConnectedGuestAgent(DomainXml.Replace("connected", "disconnected", StringComparison.Ordinal)));
    }

    [Fact]
    public void Move_disk_of_a_target_the_domain_lacks_throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SnapshotXml.MoveDisk(DomainXml, "vdq", "/x"));
        Assert.Contains("vdq", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vda,snapshot=external,file=/var/lib/libvirt/snapshots/s1", null, SnapshotMode.External)]
    [InlineData("vda", true, SnapshotMode.External)]
    [InlineData("vda", null, SnapshotMode.Internal)]
    [InlineData("vda,snapshot=internal --diskspec vdb,snapshot=no", false, SnapshotMode.Internal)]
    public void Mode_follows_isExternal_and_the_diskspec(string diskspec, bool? isExternal, SnapshotMode expected) =>
        Assert.Equal(expected, CreateSnapshotHandler.ModeOf(Specs(diskspec), isExternal));

    [Theory]
    [InlineData("vda,snapshot=internal --diskspec vdb,snapshot=external", null, "mixes")]
    [InlineData("vda,snapshot=internal", true, "isExternal is true")]
    [InlineData("vda,file=/var/lib/libvirt/snapshots/s1", false, "isExternal is false")]
    public void Contradicting_modes_are_refused_naming_diskspec(string diskspec, bool? isExternal, string part)
    {
        var ex = Assert.Throws<RequestParameterException>(() => CreateSnapshotHandler.ModeOf(Specs(diskspec), isExternal));
        Assert.Contains(part, ex.Message, StringComparison.Ordinal);
        Assert.Contains("createSnapshot.diskspec", ex.Message, StringComparison.Ordinal);
    }

    private static string AssetDir([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "testassets");

    private static void AssertGolden(string file, string actual)
    {
        var path = Path.Combine(AssetDir(), file);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with UPDATE_GOLDEN=1.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }
}
