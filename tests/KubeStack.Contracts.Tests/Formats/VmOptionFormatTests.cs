using KubeStack.Contracts.Formats;

namespace KubeStack.Contracts.Tests.Formats;

public class GraphicsFormatTests
{
    [Theory]
    [InlineData("vnc,listen=0.0.0.0,password=abcdefg", GraphicsType.Vnc, "abcdefg")]
    [InlineData("spice,listen=127.0.0.1", GraphicsType.Spice, null)]
    [InlineData("vnc,listen=0.0.0.0,password=a-1-b", GraphicsType.Vnc, "a-1-b")]
    public void Valid_graphics_parse(string value, GraphicsType type, string? password)
    {
        var result = GraphicsFormat.Parse(value);

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(type, result.Value!.Type);
        Assert.Equal(password, result.Value!.Password);
    }

    [Theory]
    [InlineData("rdp,listen=0.0.0.0", "must start with vnc or spice")]
    [InlineData("vnc", "needs listen=ADDRESS")]
    [InlineData("vnc,listen=everywhere", "is not an IPv4 address")]
    [InlineData("vnc,listen=0.0.0.0,port=5900", "item 3 has an unknown key")]
    [InlineData("vnc,listen=0.0.0.0,listen=0.0.0.0", "more than once")]
    public void Invalid_graphics_are_rejected(string value, string expected)
    {
        var result = GraphicsFormat.Parse(value);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("vnc,listen=0.0.0.0,password=Secret99")]
    [InlineData("vnc,listen=0.0.0.0,password=abc")]
    [InlineData("vnc,listen=0.0.0.0,password=abcdefghijklmnopq")]
    [InlineData("vnc,listen=0.0.0.0,password=sec_ret")]
    [InlineData("vnc,listen=0.0.0.0,Secret99")]
    [InlineData("vnc,Secret99=x,listen=0.0.0.0")]
    public void Bad_passwords_are_rejected_without_ever_echoing_the_password(string value)
    {
        var result = GraphicsFormat.Parse(value);

        Assert.False(result.IsValid);
        foreach (var secret in new[] { "Secret99", "abcdefghijklmnopq", "sec_ret" })
        {
            Assert.All(result.Errors, e => Assert.DoesNotContain(secret, e, StringComparison.Ordinal));
        }
        Assert.Contains(result.Errors, e => e.Contains("password", StringComparison.Ordinal) || e.Contains("key=value", StringComparison.Ordinal) || e.Contains("unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public void Graphics_spec_text_form_hides_the_password()
    {
        var spec = GraphicsFormat.Parse("vnc,listen=0.0.0.0,password=topsecret").Value!;

        Assert.DoesNotContain("topsecret", spec.ToString(), StringComparison.Ordinal);
        Assert.Contains("***", spec.ToString(), StringComparison.Ordinal);
    }
}

public class VcpusFormatTests
{
    [Fact]
    public void Catalog_example_parses_with_topology_and_cpuset()
    {
        var result = VcpusFormat.Parse("2,cpuset=1-4,maxvcpus=40,cores=40,sockets=1,threads=1");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(new VcpuSpec(2, 40, "1-4", new CpuTopology(1, 40, 1)), result.Value);
    }

    [Theory]
    [InlineData("1", 1, 1, null)]
    [InlineData("2,maxvcpus=4", 2, 4, null)]
    [InlineData("2,sockets=2,cores=2", 2, 4, null)]
    [InlineData("4,cpuset=0-3,^2,6,maxvcpus=8", 4, 8, "0-3,^2,6")]
    [InlineData("1,threads=2", 1, 2, null)]
    public void Valid_vcpus_parse(string value, int current, int max, string? cpuset)
    {
        var result = VcpusFormat.Parse(value);

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(current, result.Value!.Current);
        Assert.Equal(max, result.Value!.Maximum);
        Assert.Equal(cpuset, result.Value!.CpuSet);
    }

    [Theory]
    [InlineData("0", "must start with the number of vCPUs")]
    [InlineData("two", "must start with the number of vCPUs")]
    [InlineData("cpuset=1", "must start with the number of vCPUs")]
    [InlineData("4,maxvcpus=2", "cannot exceed the maximum")]
    [InlineData("2,maxvcpus=8,sockets=1,cores=2,threads=2", "must equal sockets × cores × threads")]
    [InlineData("2,cores=0", "cores must be a whole number from 1 to 100")]
    [InlineData("8,sockets=2,cores=2", "cannot exceed the maximum")]
    [InlineData("2,cpuset=4-1", "whose end is below its start")]
    [InlineData("2,cpuset=^1", "at least one CPU")]
    [InlineData("2,cpuset=a", "not N, N-M or ^N")]
    [InlineData("2,numa=1", "unknown key 'numa'")]
    [InlineData("2,maxvcpus=4,maxvcpus=4", "more than once")]
    [InlineData("2,maxvcpus=4,7", "is not of the form key=value")]
    public void Invalid_vcpus_are_rejected_naming_the_rule(string value, string expected)
    {
        var result = VcpusFormat.Parse(value);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}

public class CpuTuneFormatTests
{
    [Fact]
    public void Pins_emulator_pin_and_quotas_parse()
    {
        var result = CpuTuneFormat.Parse(
            "vcpupin0.vcpu=0,vcpupin0.cpuset=1-2,4,vcpupin1.vcpu=1,vcpupin1.cpuset=3,emulatorpin.cpuset=0,shares=2048,period=100000,quota=-1");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        var spec = result.Value!;
        Assert.Equal([new VcpuPin(0, "1-2,4"), new VcpuPin(1, "3")], spec.VcpuPins);
        Assert.Equal("0", spec.EmulatorPinCpuSet);
        Assert.Equal(2048, spec.Shares);
        Assert.Equal(100000, spec.Period);
        Assert.Equal(-1, spec.Quota);
    }

    [Theory]
    [InlineData("vcpupin0.vcpu=0", "needs both vcpupin0.vcpu and vcpupin0.cpuset")]
    [InlineData("vcpupin0.cpuset=1", "vcpu is missing")]
    [InlineData("vcpupin0.vcpu=0,vcpupin0.cpuset=1,vcpupin1.vcpu=0,vcpupin1.cpuset=2", "pins vCPU 0 more than once")]
    [InlineData("vcpupin0.vcpu=x,vcpupin0.cpuset=1", "must be a vCPU number")]
    [InlineData("shares=1", "shares must be a whole number from 2")]
    [InlineData("quota=10", "quota must be -1 or a whole number")]
    [InlineData("period=999", "period must be a whole number from 1000")]
    [InlineData("iothreads=2", "unknown key 'iothreads'")]
    [InlineData("emulatorpin.cpuset=2-1", "whose end is below its start")]
    [InlineData("shares=10,shares=20", "more than once")]
    public void Invalid_cputune_is_rejected_naming_the_rule(string value, string expected)
    {
        var result = CpuTuneFormat.Parse(value);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}

public class MetadataAndRedirdevFormatTests
{
    [Fact]
    public void Metadata_with_a_real_uuid_exposes_it_as_a_guid()
    {
        var result = MetadataUuidFormat.Parse("uuid=950646e8-c17a-49d0-b83c-1c797811e001");

        Assert.True(result.IsValid);
        Assert.Equal(Guid.Parse("950646e8-c17a-49d0-b83c-1c797811e001"), result.Value!.ParsedUuid);
    }

    [Fact]
    public void Metadata_with_a_non_uuid_value_is_valid_but_has_no_guid()
    {
        var result = MetadataUuidFormat.Parse("uuid=vm-0001.tenant");

        Assert.True(result.IsValid);
        Assert.Null(result.Value!.ParsedUuid);
    }

    [Theory]
    [InlineData("950646e8-c17a-49d0-b83c-1c797811e001", "uuid=VALUE")]
    [InlineData("uuid=short", "12-36 characters")]
    [InlineData("uuid=950646E8-C17A-49D0-B83C-1C797811E001", "12-36 characters")]
    public void Invalid_metadata_is_rejected(string value, string expected) =>
        Assert.Contains(MetadataUuidFormat.Parse(value).Errors, e => e.Contains(expected, StringComparison.Ordinal));

    [Fact]
    public void Redirdev_catalog_example_parses_host_and_port()
    {
        var result = RedirDevFormat.Parse("usb,type=tcp,server=192.168.1.1:4000");

        Assert.Equal(new RedirDevSpec("usb", "tcp", "192.168.1.1", 4000), result.Value);
    }

    [Theory]
    [InlineData("usb,type=spicevmc", true)]
    [InlineData("usb,type=tcp,server=usbhost.example:4000", true)]
    [InlineData("pci,type=tcp,server=1.2.3.4:1", false)]
    [InlineData("usb,type=tcp", false)]
    [InlineData("usb,type=tcp,server=1.2.3.4", false)]
    [InlineData("usb,type=tcp,server=1.2.3.4:70000", false)]
    [InlineData("usb,type=udp,server=1.2.3.4:1", false)]
    [InlineData("usb,type=spicevmc,server=1.2.3.4:1", false)]
    [InlineData("usb,server=1.2.3.4:1", false)]
    public void Redirdev_variants(string value, bool valid) => Assert.Equal(valid, RedirDevFormat.Parse(value).IsValid);
}

public class DiskOperationFormatTests
{
    [Fact]
    public void Diskspec_valid_example_parses_two_disks()
    {
        var result = DiskSpecFormat.Parse(
            "vda,snapshot=external,file=/var/lib/libvirt/snapshots/snapshot1,driver=qcow2 --diskspec vdb,snapshot=no");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(
            [new DiskSnapshotSpec("vda", "external", "/var/lib/libvirt/snapshots/snapshot1", "qcow2"), new DiskSnapshotSpec("vdb", "no", null, null)],
            result.Value);
    }

    [Theory]
    [InlineData("vda,snapshot=external,file=/var/lib/libvirt/snapshots/snapshot1,drvier=qcow2", "write driver=qcow2")]
    [InlineData("vda,snapshot=later", "snapshot must be external, internal or no")]
    [InlineData("vda,snapshot=no,file=/var/lib/libvirt/snapshots/snapshot1", "apply only to snapshot=external")]
    [InlineData("vda,snapshot=external,file=/etc/snapshots/snapshot1xx", "must be inside")]
    [InlineData("vda,driver=raw", "driver must be qcow2")]
    [InlineData("xvda,snapshot=no", "must start with the disk target")]
    [InlineData("vda --diskspec vda,snapshot=no", "appears in 2 diskspecs")]
    [InlineData("vda,mode=fast", "is not snapshot=, file= or driver=")]
    [InlineData("", "empty")]
    public void Invalid_diskspecs_are_rejected(string value, string expected) =>
        Assert.Contains(DiskSpecFormat.Parse(value).Errors, e => e.Contains(expected, StringComparison.Ordinal));

    [Fact]
    public void Migratedisks_accepts_both_vol_and_the_examples_disk_key()
    {
        var result = MigrateDisksFormat.Parse(
            "disk=/var/lib/libvirt/cstor/pool1/pool1/disk1,pool=poolnfs1;vol=/var/lib/libvirt/cstor/pool2/pool2/disk2,pool=poolnfs2");

        Assert.True(result.IsValid, string.Join(" | ", result.Errors));
        Assert.Equal(
            [new MigrateDiskSpec("/var/lib/libvirt/cstor/pool1/pool1/disk1", "poolnfs1"), new MigrateDiskSpec("/var/lib/libvirt/cstor/pool2/pool2/disk2", "poolnfs2")],
            result.Value);
    }

    [Theory]
    [InlineData("vol=/var/lib/libvirt/cstor/pool1/disk1", "pool=POOL (the target storage pool) is required")]
    [InlineData("pool=poolnfs1", "vol=PATH (the disk to migrate) is required")]
    [InlineData("vol=/root/disk1-aaaaaaaaaa,pool=poolnfs1", "must be inside")]
    [InlineData("vol=/var/lib/libvirt/cstor/pool1/disk1,pool=P1", "must be 4-100 characters")]
    [InlineData("vol=/var/lib/libvirt/cstor/pool1/disk1,pool=poolnfs1,speed=1", "is not vol=PATH or pool=POOL")]
    [InlineData("vol=/var/lib/libvirt/cstor/pool1/disk1,pool=poolnfs1;vol=/var/lib/libvirt/cstor/pool1/disk1,pool=poolnfs2", "listed 2 times")]
    public void Invalid_migratedisks_are_rejected(string value, string expected) =>
        Assert.Contains(MigrateDisksFormat.Parse(value).Errors, e => e.Contains(expected, StringComparison.Ordinal));

    [Fact]
    public void Storage_list_mixes_targets_and_paths_like_virsh_undefine()
    {
        var result = StorageListFormat.Parse("vda,/var/lib/libvirt/images/disk1");

        Assert.Equal([new StorageEntry("vda", null), new StorageEntry(null, "/var/lib/libvirt/images/disk1")], result.Value);
    }

    [Theory]
    [InlineData("disk1")]
    [InlineData("vda,/etc/passwd-aaaaaaaaaaaaa")]
    [InlineData("vda,vda")]
    public void Invalid_storage_lists_are_rejected(string value) => Assert.False(StorageListFormat.Parse(value).IsValid);

    [Fact]
    public void File_list_splits_on_file_flags()
    {
        var result = FileListFormat.Parse("/var/lib/libvirt/images/test1.qcow2 --file /var/lib/libvirt/images/test2.qcow2");

        Assert.Equal(["/var/lib/libvirt/images/test1.qcow2", "/var/lib/libvirt/images/test2.qcow2"], result.Value);
    }

    [Theory]
    [InlineData("/var/lib/libvirt/images/test1.qcow2 --file /var/lib/libvirt/images/test1.qcow2")]
    [InlineData("/home/user/images/test1.qcow2")]
    public void Invalid_file_lists_are_rejected(string value) => Assert.False(FileListFormat.Parse(value).IsValid);

    [Theory]
    [InlineData("hda,vda", true)]
    [InlineData("vda", true)]
    [InlineData("vda,vda", false)]
    [InlineData("vda,cdrom", false)]
    public void Disk_target_lists(string value, bool valid) => Assert.Equal(valid, DiskTargetListFormat.Parse(value).IsValid);
}

public class SeedFormatsTests
{
    [Theory]
    [InlineData("diskList", "/var/lib/libvirt/images/a.qcow2")]
    [InlineData("networkList", "type=bridge,source=virbr0")]
    [InlineData("nicSource", "source=virbr0")]
    [InlineData("graphics", "vnc,listen=0.0.0.0")]
    [InlineData("vcpus", "2")]
    [InlineData("cputune", "vcpupin0.vcpu=0,vcpupin0.cpuset=1")]
    [InlineData("metadataUuid", "uuid=950646e8-c17a-49d0-b83c-1c797811e001")]
    [InlineData("redirdev", "usb,type=spicevmc")]
    [InlineData("diskspec", "vda,snapshot=no")]
    [InlineData("migratedisks", "vol=/var/lib/libvirt/images/disk1,pool=pool1")]
    [InlineData("storageList", "vda")]
    [InlineData("fileList", "/var/lib/libvirt/images/a.qcow2")]
    [InlineData("diskTargetList", "vda")]
    [InlineData("path", "/var/lib/libvirt/images/a.qcow2")]
    public void Check_dispatches_every_format_and_accepts_a_valid_value(string format, string value) =>
        Assert.Empty(SeedFormats.Check(format, value));

    [Theory]
    [InlineData("diskList", "/tmp/a.qcow2")]
    [InlineData("networkList", "type=bridge")]
    [InlineData("graphics", "vnc,listen=nowhere")]
    [InlineData("vcpus", "0")]
    [InlineData("cputune", "vcpupin0.vcpu=0")]
    [InlineData("diskspec", "vda,snapshot=maybe")]
    [InlineData("migratedisks", "vol=/var/lib/libvirt/images/disk1")]
    [InlineData("path", "/var/lib/libvirt/../x/y/zzzzzz")]
    public void Check_returns_full_sentences_for_invalid_values(string format, string value)
    {
        var errors = SeedFormats.Check(format, value);

        Assert.NotEmpty(errors);
        Assert.All(errors, e =>
        {
            Assert.True(char.IsUpper(e[0]) || char.IsLower(e[0]), e);
            Assert.EndsWith(".", e, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Check_refuses_an_unknown_format_name()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SeedFormats.Check("nope", "x"));

        Assert.Contains("diskList", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/var/lib/libvirt/images/a.qcow2", true)]
    [InlineData("/mnt/localfs/pool1/disk-1.qcow2", true)]
    [InlineData("/mnt/usb/images/Disk_1.qcow2", true)]
    [InlineData("/var/lib/libvirt", false)]
    [InlineData("/var/lib/libvirt//images/a.qcow2", false)]
    [InlineData("/var/lib/libvirt/./images/a.qcow2", false)]
    [InlineData("/mnt/usbstick/images/a.qcow2", false)]
    [InlineData("var/lib/libvirt/images/a.qcow2", false)]
    [InlineData("/var/lib/libvirt/images/a;rm.qcow2", false)]
    public void Path_rule(string path, bool allowed) => Assert.Equal(allowed, SeedPaths.IsAllowed(path));

    [Fact]
    public void Path_segments_longer_than_255_characters_are_rejected()
    {
        Assert.True(SeedPaths.IsAllowed("/var/lib/libvirt/images/" + new string('a', 255)));
        Assert.Contains("segment longer than 255", SeedPaths.Problem("/var/lib/libvirt/images/" + new string('a', 256)), StringComparison.Ordinal);
    }
}
