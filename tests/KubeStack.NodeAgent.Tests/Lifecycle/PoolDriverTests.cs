using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

namespace KubeStack.NodeAgent.Tests.Lifecycle;

public sealed class PoolDriverTests
{
    private static PoolRequest Request(string type, string url, string? options = null, string poolName = "pool1") =>
        new("pool1", type, "vmd", url, options, poolName);

    [Theory]
    [InlineData("dir")]
    [InlineData("localfs")]
    public void A_directory_pool_is_a_libvirt_dir_pool_whose_target_is_the_url(string type)
    {
        var definition = PoolDriverRegistry.Default.For(type, "node1").Define(Request(type, "/mnt/localfs/kst-unit-pool"), "node1");

        Assert.Equal(("dir", "/mnt/localfs/kst-unit-pool"), (definition.LibvirtType, definition.TargetPath));
        var xml = XElement.Parse(definition.Xml);
        Assert.Equal("dir", (string?)xml.Attribute("type"));
        Assert.Equal("pool1", (string?)xml.Element("name"));
        Assert.Equal("/mnt/localfs/kst-unit-pool", (string?)xml.Element("target")?.Element("path"));
    }

    [Theory]
    [InlineData("/opt/pools/pool1")]
    [InlineData("/var/lib/kubestack-lab/pools/pool1")]
    [InlineData("/mnt/localfs/../../etc/pool1")]
    public void A_directory_pool_outside_the_allowed_roots_is_refused_before_anything_is_defined(string url)
    {
        var ex = Assert.Throws<UnsafePathException>(() => new DirPoolDriver().Define(Request("dir", url), "node1"));
        Assert.Equal(url, ex.Path);
    }

    [Fact]
    public void An_nfs_pool_is_a_netfs_pool_mounted_under_the_cstor_root_with_its_mount_options()
    {
        var definition = new NetfsPoolDriver().Define(Request("nfs", "192.168.1.5:/exports/vms", "nolock,vers=4", poolName: "07098ca5fd"), "node1");

        Assert.Equal(("netfs", "/var/lib/libvirt/cstor/07098ca5fd"), (definition.LibvirtType, definition.TargetPath));
        var xml = XElement.Parse(definition.Xml);
        XNamespace fs = "http://libvirt.org/schemas/storagepool/fs/1.0";
        var source = xml.Element("source")!;
        Assert.Equal(("192.168.1.5", "/exports/vms", "nfs"),
            ((string?)source.Element("host")?.Attribute("name"), (string?)source.Element("dir")?.Attribute("path"), (string?)source.Element("format")?.Attribute("type")));
        Assert.Equal(["nolock", "vers=4"], xml.Element(fs + "mount_opts")!.Elements(fs + "option").Select(o => (string?)o.Attribute("name")));
    }

    [Fact]
    public void A_glusterfs_pool_without_options_has_no_mount_options_element()
    {
        var definition = new NetfsPoolDriver().Define(Request("glusterfs", "gluster1:vol0"), "node1");
        var xml = XElement.Parse(definition.Xml);
        Assert.Equal("glusterfs", (string?)xml.Element("source")?.Element("format")?.Attribute("type"));
        Assert.DoesNotContain(xml.Elements(), e => e.Name.LocalName == "mount_opts");
    }

    [Fact]
    public void A_netfs_url_without_host_and_export_is_a_parameter_error()
    {
        var ex = Assert.Throws<RequestParameterException>(() => new NetfsPoolDriver().Define(Request("nfs", "no-colon"), "node1"));
        Assert.Equal("url", ex.Parameter);
    }

    [Theory]
    [InlineData("uus")]
    [InlineData("vdiskfs")]
    public void Vendor_pool_types_are_VirtctlErrors_naming_the_missing_cstor_cli(string type)
    {
        var ex = Assert.Throws<StorageRefusedException>(() => PoolDriverRegistry.Default.For(type, "node7").Define(Request(type, "uus-x://a"), "node7"));
        Assert.Equal(ErrorClasses.VirtctlError, ex.ErrorClass);
        Assert.Contains("cstor-cli", ex.Message, StringComparison.Ordinal);
        Assert.Contains("node7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_pool_type_is_refused_listing_the_supported_ones()
    {
        var ex = Assert.Throws<StorageRefusedException>(() => PoolDriverRegistry.Default.For("rbd", "node1"));
        Assert.Contains("dir, glusterfs, localfs, nfs, uus, vdiskfs", ex.Message, StringComparison.Ordinal);
    }
}
