using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;

namespace KubeStack.NodeAgent.Tests.Backup;

/// <summary>The layout, the manifest's durable write and the store's states on a real (temporary) file system.</summary>
public sealed class BackupAreaTests : IDisposable
{
    private readonly string _pool = Directory.CreateTempSubdirectory("kst-backup-unit-").FullName;

    public void Dispose() => Directory.Delete(_pool, recursive: true);

    private BackupLayout Layout() => BackupLayout.ForPoolDirectory(_pool, [Path.GetDirectoryName(_pool)!]);

    [Fact]
    public void The_layout_puts_vm_and_disk_versions_under_kubestack_backups_of_the_pool()
    {
        var layout = Layout();
        Assert.Equal($"{_pool}/kubestack-backups", layout.Root);
        Assert.Equal($"{_pool}/kubestack-backups/vm1/vm/v1", layout.VmVersion("vm1", "v1"));
        Assert.Equal($"{_pool}/kubestack-backups/vm1/disks/d1/v1", layout.DiskVersion("vm1", "d1", "v1"));
        Assert.Throws<ArgumentException>(() => layout.VmVersion("vm1", ".."));
        Assert.Throws<ArgumentException>(() => layout.DiskVersion("vm1", "a/b", "v1"));
    }

    [Fact]
    public void A_symbolic_link_inside_the_area_is_refused_even_when_it_points_inside_the_allowed_roots()
    {
        var layout = Layout();
        var elsewhere = Directory.CreateDirectory(Path.Combine(_pool, "elsewhere")).FullName;
        Directory.CreateDirectory(layout.Root);
        Directory.CreateSymbolicLink(layout.DomainDirectory("vm1"), elsewhere);
        var ex = Assert.Throws<UnsafePathException>(() => layout.Check(layout.VmVersion("vm1", "v1")));
        Assert.Contains("symbolic link", ex.Reason, StringComparison.Ordinal);
        Assert.Throws<UnsafePathException>(() => layout.Check("/etc/passwd"));
    }

    [Fact]
    public void A_pool_directory_outside_the_allowed_roots_is_refused() =>
        Assert.Throws<UnsafePathException>(() => BackupLayout.ForPoolDirectory("/etc"));

    [Fact]
    public async Task The_manifest_is_written_by_rename_with_no_temporary_file_left_and_read_back()
    {
        var layout = Layout();
        var dir = layout.Create(layout.VmVersion("vm1", "v1"));
        await File.WriteAllTextAsync($"{dir}/vda.qcow2", "data");
        Assert.Null(await BackupFiles.ReadManifestAsync(dir));
        var manifest = BackupManifestTests.Manifest("v1", null) with
        {
            Disks = [BackupManifestTests.Disk("v1") with { Bytes = 4, Sha256 = await BackupFiles.Sha256Async($"{dir}/vda.qcow2") }],
        };
        await BackupFiles.WriteManifestAsync(dir, manifest);
        Assert.Equal(["manifest.json", "vda.qcow2"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(manifest.Disks[0].Sha256, (await BackupFiles.ReadManifestAsync(dir))!.Disks[0].Sha256);
        Assert.Equal("3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7", await BackupFiles.Sha256Async($"{dir}/vda.qcow2"));
    }

    [Fact]
    public async Task The_store_reports_complete_incomplete_and_damaged_versions_and_who_depends_on_whom()
    {
        var layout = Layout();
        var store = new BackupStore(layout, "vm1", null);
        await WriteVersionAsync(layout, "v1", null);
        await WriteVersionAsync(layout, "v2", "v1");
        layout.Create(layout.VmVersion("vm1", "v3"));                     // interrupted: no manifest
        await WriteVersionAsync(layout, "v4", null);
        await File.AppendAllTextAsync($"{layout.VmVersion("vm1", "v4")}/vda.qcow2", "grown");

        var states = await store.ListAsync(CancellationToken.None);
        Assert.Equal(
            [("v1", "complete"), ("v2", "complete"), ("v4", "damaged"), ("v3", "incomplete")],
            states.Select(s => (s.Version, s.State)));
        Assert.Contains("has 9 bytes, the manifest says 4", states.Single(s => s.Version == "v4").Problem, StringComparison.Ordinal);
        Assert.Equal(["v2"], BackupStore.DependantsOf(states, "v1"));
        Assert.Empty(BackupStore.DependantsOf(states, "v2"));

        foreach (var v in new[] { "v2", "v1", "v3", "v4" })
        {
            store.Remove(v);
        }

        Assert.False(Directory.Exists(layout.DomainDirectory("vm1")));
        Assert.True(Directory.Exists(layout.Root));
    }

    private static async Task WriteVersionAsync(BackupLayout layout, string version, string? parent)
    {
        var dir = layout.Create(layout.VmVersion("vm1", version));
        await File.WriteAllTextAsync($"{dir}/vda.qcow2", "data");
        var disk = BackupManifestTests.Disk(version, parent) with { Bytes = 4, Sha256 = await BackupFiles.Sha256Async($"{dir}/vda.qcow2") };
        await BackupFiles.WriteManifestAsync(dir, BackupManifestTests.Manifest(version, parent) with { Disks = [disk] });
    }

    [Fact]
    public void A_restore_to_a_new_VM_renames_it_and_drops_uuid_macs_interface_ids_and_disks_not_restored()
    {
        const string xml = """
            <domain type='qemu'><name>old</name><uuid>6e0b1a4c-0000-0000-0000-000000000001</uuid>
              <devices>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/p/old'/><target dev='vda' bus='virtio'/></disk>
                <disk type='file' device='disk'><source file='/p/old-data'/><target dev='vdb' bus='virtio'/></disk>
                <disk type='file' device='cdrom'><source file='/p/x.iso'/><target dev='hda' bus='ide'/></disk>
                <interface type='bridge'><mac address='52:54:00:00:00:01'/><virtualport type='openvswitch'><parameters interfaceid='abc'/></virtualport></interface>
                <serial type='pty'><log file='/var/log/old.log'/></serial>
              </devices></domain>
            """;
        var entry = BackupManifestTests.Disk("v1");
        var item = new RestoreItem(new VerifiedDisk(entry, "/b/v1/vda.qcow2"), "/p2/new", "qcow2");
        var result = System.Xml.Linq.XElement.Parse(BackupVmSteps.NewDomainXml(xml, "old", "new", "v1", [item]));
        Assert.Equal("new", (string?)result.Element("name"));
        Assert.Null(result.Element("uuid"));
        Assert.Equal("kubestack-restored-from:old/v1", (string?)result.Element("description"));
        var disks = result.Element("devices")!.Elements("disk").ToList();
        Assert.Equal(["/p2/new", "/p/x.iso"], disks.Select(d => (string?)d.Element("source")!.Attribute("file")));
        Assert.Empty(result.Descendants("mac"));
        Assert.Null(result.Descendants("parameters").Single().Attribute("interfaceid"));
        Assert.Equal("/var/log/new.log", (string?)result.Descendants("log").Single().Attribute("file"));
    }
}
