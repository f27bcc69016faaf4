using KubeStack.Contracts.Formats;

namespace KubeStack.Contracts.Tests.Formats;

public class DiskListFormatTests
{
    private const string ValidExample =
        "/var/lib/libvirt/images/test3.qcow2,read_bytes_sec=1024000000,write_bytes_sec=1024000000 " +
        "--disk /var/lib/libvirt/iso/centos-7-x86_64-minimal-1511.iso,device=cdrom,perms=ro";

    [Fact]
    public void Catalog_valid_example_parses_into_a_disk_and_a_read_only_cdrom()
    {
        var result = DiskListFormat.Parse(ValidExample);

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        var disks = result.Value!;
        Assert.Equal(2, disks.Count);
        Assert.Equal("/var/lib/libvirt/images/test3.qcow2", disks[0].Path);
        Assert.Equal(DiskDevice.Disk, disks[0].Device);
        Assert.Equal(1024000000, disks[0].ReadBytesSec);
        Assert.Equal(1024000000, disks[0].WriteBytesSec);
        Assert.True(disks[0].HasIoTune);
        Assert.Equal(DiskDevice.Cdrom, disks[1].Device);
        Assert.True(disks[1].ReadOnly);
    }

    [Fact]
    public void Documented_example_with_a_cdrom_under_opt_is_rejected_by_the_path_rule()
    {
        var result = DiskListFormat.Parse(
            "/var/lib/libvirt/images/test3.qcow2 --disk /opt/ISO/CentOS-7-x86_64-Minimal-1511.iso,device=cdrom,perms=ro");

        var error = Assert.Single(result.Errors);
        Assert.Contains("Disk 2", error, StringComparison.Ordinal);
        Assert.Contains("/var/lib/libvirt, /mnt/localfs or /mnt/usb", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/var/lib/libvirt/images/a.qcow2,target=hda", "hda")]
    [InlineData("--disk /var/lib/libvirt/images/a.qcow2,target=vdb", "vdb")]
    [InlineData("path=/mnt/localfs/pool1/a.qcow2,target=sdc,bus=scsi", "sdc")]
    [InlineData("/mnt/usb/images/disk-a.raw,format=raw,target=vda,bus=virtio,cache=none", "vda")]
    public void Valid_single_disks_parse_with_their_target(string value, string target)
    {
        var result = DiskListFormat.Parse(value);

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(target, Assert.Single(result.Value!).Target);
    }

    [Fact]
    public void Three_disks_separated_by_disk_flags_keep_their_order()
    {
        var result = DiskListFormat.Parse(
            "/var/lib/libvirt/images/a.qcow2 --disk /var/lib/libvirt/images/b.qcow2,perms=sh --disk /var/lib/libvirt/images/c.qcow2,size=2.5");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(["a", "b", "c"], result.Value!.Select(d => System.IO.Path.GetFileNameWithoutExtension(d.Path)));
        Assert.True(result.Value![1].Shareable);
        Assert.Equal(2.5m, result.Value![2].Size);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,target=xda", "target must be vdX, hdX or sdX")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,device=floppy", "device must be disk or cdrom")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,bus=pci", "bus must be one of")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,format=vmdk", "format must be qcow2 or raw")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,perms=wo", "perms must be rw, ro or sh")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,read_bytes_sec=-1", "read_bytes_sec must be a whole number")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,write_bytes_sec=1,024", "is not of the form key=value")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,read_bytes_sec=99999999999", "read_bytes_sec must be a whole number")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,total_bytes_sec=1,read_bytes_sec=2", "total_bytes_sec cannot be combined")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,total_iops_sec=1,write_iops_sec=2", "total_iops_sec cannot be combined")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,speed=fast", "unknown option 'speed'")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,target=vda,target=vdb", "more than once")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,target=vda,bus=ide", "target vda does not fit bus ide")]
    [InlineData("/var/lib/libvirt/images/a.iso,device=cdrom,target=vdc", "CD-ROM cannot be on the virtio bus")]
    [InlineData("/var/lib/libvirt/images/a.iso,device=cdrom,perms=rw", "CD-ROM is read-only")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,target=vda --disk /var/lib/libvirt/images/b.qcow2,target=vda", "The target 'vda' is used by 2 disks")]
    [InlineData("/var/lib/libvirt/../../etc/shadow", "'..'")]
    [InlineData("/var/lib/libvirtx/images/a.qcow2", "must be inside")]
    [InlineData("/tmp/images/aaaaaaaaaaa.qcow2", "must be inside")]
    [InlineData("/var/lib/libvirt/a b.qcow2", "whitespace")]
    [InlineData("/var/lib/libvirt/images/a.qcow2 --disk ", "empty")]
    [InlineData("target=vda", "does not start with a file path")]
    [InlineData("/mnt/usb/a.qcow2", "18-1024 characters")]
    [InlineData("/var/lib/libvirt/images/a.qcow2,size=0", "size must be a number of GiB")]
    public void Invalid_disk_lists_are_rejected_naming_the_rule(string value, string expected)
    {
        var result = DiskListFormat.Parse(value);

        Assert.False(result.IsValid);
        Assert.Null(result.Value);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.EndsWith(".", e, StringComparison.Ordinal));
    }

    [Fact]
    public void Errors_name_the_disk_by_position_and_path()
    {
        var result = DiskListFormat.Parse("/var/lib/libvirt/images/a.qcow2 --disk /var/lib/libvirt/images/b.qcow2,bus=pci");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("Disk 2 ('/var/lib/libvirt/images/b.qcow2')", error, StringComparison.Ordinal);
    }
}

public class NetworkListFormatTests
{
    [Fact]
    public void Catalog_example_parses_into_an_l3bridge_nic()
    {
        var result = NetworkListFormat.Parse(
            "type=l3bridge,source=br-int,ip=192.168.5.9,switch=switch8888,model=e1000,inbound=102400,outbound=102400");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        var nic = Assert.Single(result.Value!);
        Assert.Equal(new NicSpec(NicType.L3Bridge, "br-int", "192.168.5.9", "switch8888", "e1000", 102400, 102400, null), nic);
    }

    [Theory]
    [InlineData("type=bridge,source=virbr0", NicType.Bridge)]
    [InlineData("type=l2bridge,source=br-native,model=virtio,mac=52:54:00:aa:bb:cc", NicType.L2Bridge)]
    [InlineData("type=l3bridge,source=br-int", NicType.L3Bridge)]
    [InlineData("type=bridge,source=virbr0,inbound=1000,outbound=2000,mac=52:54:00:00:00:01", NicType.Bridge)]
    public void Valid_nics_parse(string value, NicType type)
    {
        var result = NetworkListFormat.Parse(value);

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(type, Assert.Single(result.Value!).Type);
    }

    [Fact]
    public void Several_nics_are_separated_by_network_flags_and_macs_are_normalised()
    {
        var result = NetworkListFormat.Parse(
            "type=bridge,source=virbr0,mac=52:54:00:AA:00:01 --network type=l3bridge,source=br-int,ip=10.0.0.5,switch=sw-one");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(2, result.Value!.Count);
        Assert.Equal("52:54:00:aa:00:01", result.Value![0].Mac);
        Assert.Equal("10.0.0.5", result.Value![1].Ip);
    }

    [Theory]
    [InlineData("source=virbr0,type=bridge", "'type' must come before 'source'")]
    [InlineData("type=l3bridge,source=br-int,model=virtio,ip=10.0.0.1", "'ip' must come before 'model'")]
    [InlineData("type=bridge,source=br0,mac=52:54:00:00:00:01,inbound=10", "'inbound' must come before 'mac'")]
    [InlineData("type=bridge", "source (the bridge to plug into")]
    [InlineData("source=br0", "type is required")]
    [InlineData("type=ovs,source=br0", "type must be bridge, l2bridge or l3bridge")]
    [InlineData("type=bridge,source=br0,ip=10.0.0.1", "ip is only supported with type=l3bridge")]
    [InlineData("type=l2bridge,source=br0,switch=sw-one", "switch is only supported with type=l3bridge")]
    [InlineData("type=l3bridge,source=br-int,ip=10.0.0.256", "is not an IPv4 address")]
    [InlineData("type=l3bridge,source=br-int,switch=SW", "switch 'SW' must be 4-100 characters")]
    [InlineData("type=bridge,source=br0,model=ne2k", "model must be virtio, e1000 or rtl8139")]
    [InlineData("type=bridge,source=br0,inbound=fast", "inbound must be a whole number of KiB/s")]
    [InlineData("type=bridge,source=br0,outbound=0", "outbound must be a whole number of KiB/s")]
    [InlineData("type=bridge,source=br0,mac=fe:54:00:00:00:01", "must not start with fe")]
    [InlineData("type=bridge,source=br0,mac=01:54:00:00:00:01", "unicast")]
    [InlineData("type=bridge,source=br0,mac=52-54-00-00-00-01", "xx:xx:xx:xx:xx:xx")]
    [InlineData("type=bridge,source=br0,vlan=10", "unknown key 'vlan'")]
    [InlineData("type=bridge,type=bridge,source=br0", "more than once")]
    [InlineData("type=bridge,source=a-very-long-bridge-name", "is not a bridge name")]
    [InlineData("type=bridge,source=br0,mac=52:54:00:00:00:01 --network type=bridge,source=br1,mac=52:54:00:00:00:01", "used by 2 NICs")]
    [InlineData("type=bridge, source=br0", "whitespace")]
    [InlineData("", "empty")]
    [InlineData("type=bridge,source=", "empty value")]
    public void Invalid_network_lists_are_rejected_naming_the_rule(string value, string expected)
    {
        var result = NetworkListFormat.Parse(value);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("source=br-int,ip=192.168.5.2,switch=switch", null, true)]
    [InlineData("source=virbr0", NicType.Bridge, true)]
    [InlineData("source=br-int,ip=192.168.5.2", NicType.Bridge, false)]
    [InlineData("ip=192.168.5.2,source=br-int", null, false)]
    [InlineData("source=br-int,switch=switch,ip=192.168.5.2", null, false)]
    [InlineData("source=br-int,model=virtio", null, false)]
    public void Nic_source_follows_source_ip_switch_order_and_the_l3bridge_rule(string value, NicType? type, bool valid)
    {
        var result = NicSourceFormat.Parse(value, type);

        Assert.Equal(valid, result.IsValid);
    }
}
