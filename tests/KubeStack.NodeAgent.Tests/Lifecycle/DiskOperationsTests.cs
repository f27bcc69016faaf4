using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

namespace KubeStack.NodeAgent.Tests.Lifecycle;

public sealed class DiskOperationsTests
{
    [Theory]
    [InlineData(1_000_000_000L, 1_000_000_512L)]
    [InlineData(1_073_741_824L, 1_073_741_824L)]
    [InlineData(999_999_999_999L, 1_000_000_000_000L)]
    public void The_expected_virtual_size_is_the_capacity_rounded_up_to_whole_KiB_as_libvirt_passes_it(long capacity, long expected) =>
        Assert.Equal(expected, DiskOperations.VirtualSizeOf(capacity));

    [Fact]
    public void The_volume_xml_asks_for_qcow2_of_the_capacity_in_bytes()
    {
        var xml = XElement.Parse(DiskOperations.VolumeXml("disk1", 10_737_418_240));
        Assert.Equal("disk1", (string?)xml.Element("name"));
        Assert.Equal(("bytes", "10737418240"), ((string?)xml.Element("capacity")?.Attribute("unit"), (string?)xml.Element("capacity")));
        Assert.Equal("qcow2", (string?)xml.Element("target")?.Element("format")?.Attribute("type"));
        Assert.Equal("1.1", (string?)xml.Element("target")?.Element("compat"));
    }

    private const string Domain = """
        <domain type='qemu'><name>vm1</name><devices>
          <disk type='file' device='disk'><source file='/mnt/localfs/p/top'/>
            <backingStore type='file'><source file='/mnt/localfs/p/base'/></backingStore><target dev='vda'/></disk>
          <disk type='volume' device='disk'><source pool='p2' volume='vol9'/><target dev='vdb'/></disk>
          <disk type='file' device='cdrom'><target dev='hdc'/></disk>
        </devices></domain>
        """;

    [Theory]
    [InlineData("/mnt/localfs/p/top", "p", "top", true)]
    [InlineData("/mnt/localfs/p/base", "p", "base", true)]
    [InlineData("/mnt/localfs/p2/vol9", "p2", "vol9", true)]
    [InlineData("/mnt/localfs/p/other", "p", "other", false)]
    [InlineData("/mnt/localfs/p2/vol1", "p2", "vol1", false)]
    public void A_disk_is_used_by_a_domain_as_its_file_a_backing_file_or_a_pool_volume(string path, string pool, string volume, bool used) =>
        Assert.Equal(used, DiskOperations.UsesDisk(Domain, path, pool, volume));

    [Fact]
    public void The_view_has_qemu_img_info_fields_as_strings_plus_pool_facts_and_no_nulls()
    {
        var info = JsonSerializer.Deserialize<QemuImgInfo>("""
            {"filename":"/mnt/localfs/p/disk1","format":"qcow2","virtual-size":1073741824,"actual-size":200704,"cluster-size":65536,
             "dirty-flag":false,"format-specific":{"type":"qcow2","data":{"compat":"1.1","lazy-refcounts":false,"refcount-bits":16,"corrupt":false}}}
            """)!;
        var view = DiskOperations.View(info, new DiskPlace("disk1", "p", "cstor1", "localfs"), ["vm1", "vm2"]);

        Assert.Equal(("disk1", "/mnt/localfs/p/disk1", "qcow2", "1073741824", "200704", "65536", "false"),
            ((string?)view["disk"], (string?)view["filename"], (string?)view["format"], (string?)view["virtual_size"], (string?)view["actual_size"],
                (string?)view["cluster_size"], (string?)view["dirty_flag"]));
        Assert.Equal(("p", "cstor1", "localfs", "vm1,vm2"), ((string?)view["pool"], (string?)view["poolname"], (string?)view["disktype"], (string?)view["vm"]));
        Assert.Equal(("1.1", "false", "16", "false"),
            ((string?)view["format_specific"]!["data"]!["compat"], (string?)view["format_specific"]!["data"]!["lazy_refcounts"],
                (string?)view["format_specific"]!["data"]!["refcount_bits"], (string?)view["format_specific"]!["data"]!["corrupt"]));
        Assert.False(view.ContainsKey("backing_filename"));
        Assert.DoesNotContain(view, p => p.Value is null);
    }

    [Fact]
    public void The_place_of_a_disk_comes_from_its_request_or_else_its_view()
    {
        var obj = new KubeStackResource
        {
            Kind = Kinds.VirtualMachineDisk,
            Metadata = new V1ObjectMeta { Name = "disk1" },
            Spec = new KubeStackSpec { Lifecycle = new JsonObject { ["createDisk"] = new JsonObject { ["type"] = "nfs", ["pool"] = "p1" } } },
        };
        Assert.Equal(new DiskPlace("disk1", "p1", "p1", "nfs"), DiskPlace.Of(obj));

        obj.Spec.Lifecycle = null;
        obj.Spec.Volume = new JsonObject { ["pool"] = "p2", ["poolname"] = "c2", ["disktype"] = "localfs" };
        Assert.Equal(new DiskPlace("disk1", "p2", "c2", "localfs"), DiskPlace.Of(obj));

        obj.Spec.Volume = null;
        Assert.Null(DiskPlace.Of(obj));
    }
}
