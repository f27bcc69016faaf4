using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>resizeDisk and cloneDisk on real qcow2 files in libvirt dir pools.</summary>
[Collection(LabCollection.Name)]
public sealed class DiskResizeCloneTests
{
    private static JsonObject Resize(string pool, string capacity) => new() { ["type"] = "localfs", ["pool"] = pool, ["capacity"] = capacity };

    private static JsonObject Clone(string pool, string newName) => new() { ["type"] = "localfs", ["pool"] = pool, ["newname"] = newName, ["format"] = "qcow2" };

    [LabFact]
    public async Task ResizeDisk_grows_the_file_to_a_capacity_given_with_separators_and_keeps_its_data()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        var path = await kit.NewDiskAsync(pool, dir, disk);
        await StorageTestKit.WriteAsync(path, 0x5a, 0, 65536);
        var handler = new ResizeDiskHandler(kit.Libvirt, StorageTestKit.QemuImg);

        var result = (await StorageTestKit.RunAsync(handler, disk, Resize(pool, "2,000,000,000"))).Ok();

        Assert.Equal(2_000_000_000L, (await StorageTestKit.QemuImg.InfoAsync(path)).VirtualSize);
        Assert.Equal("2000000000", (string?)result.View!["virtual_size"]);
        Assert.Equal(pool, (string?)result.View["pool"]);
        Assert.True(await StorageTestKit.ReadsAsync(path, 0x5a, 0, 65536));
        using var p = kit.Connection.LookupStoragePoolByName(pool);
        using var vol = p.LookupStorageVolByName(disk);
        Assert.Equal(2_000_000_000UL, vol.GetInfo().Capacity);
    }

    [LabFact]
    public async Task ResizeDisk_refuses_shrinking_and_the_same_size_but_a_resumed_attempt_at_the_target_size_succeeds()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        var path = await kit.NewDiskAsync(pool, dir, disk, 2_000_000_000);
        var handler = new ResizeDiskHandler(kit.Libvirt, StorageTestKit.QemuImg);

        var shrink = await StorageTestKit.RunAsync(handler, disk, Resize(pool, "1000000000"));
        var same = await StorageTestKit.RunAsync(handler, disk, Resize(pool, "2000000000"));
        var resumed = await StorageTestKit.RunAsync(handler, disk, Resize(pool, "2000000000"), attempt: 2);

        Assert.Contains("resizeDisk.capacity must be larger than the disk's current size", shrink.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        same.Fails(ErrorClasses.VirtctlError);
        resumed.Ok();
        Assert.Equal(2_000_000_000L, (await StorageTestKit.QemuImg.InfoAsync(path)).VirtualSize);
    }

    [LabFact]
    public async Task ResizeDisk_of_a_disk_missing_from_the_pool_fails_with_LibvirtError_naming_the_pool()
    {
        using var kit = StorageTestKit.Open();
        var (pool, _) = kit.NewPool();
        var result = await StorageTestKit.RunAsync(new ResizeDiskHandler(kit.Libvirt, StorageTestKit.QemuImg), "kst-nodisk", Resize(pool, "2000000000"));
        Assert.Contains($"Disk kst-nodisk is not in storage pool {pool}", result.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
    }

    [LabFact]
    public async Task ResizeDisk_and_snapshots_of_a_disk_a_running_VM_uses_are_refused_with_VirtctlError_naming_the_VM()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        var path = await kit.NewDiskAsync(pool, dir, disk);
        var vm = kit.Cleanup.Domain(LabEnvironment.UniqueName("vm"));
        var work = LabGuest.NewWorkDir(kit.Cleanup, vm);
        using (kit.Connection.CreateXml(LabGuest.DomainXml(vm, Path.Combine(work, "serial.log"), path)))
        {
        }

        try
        {
            var resize = await StorageTestKit.RunAsync(new ResizeDiskHandler(kit.Libvirt, StorageTestKit.QemuImg), disk, Resize(pool, "2000000000"));
            var snap = await StorageTestKit.RunAsync(new CreateDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), disk,
                new JsonObject { ["type"] = "localfs", ["pool"] = pool, ["snapshotname"] = "snap1" });

            Assert.Contains($"VM {vm} is running on it", resize.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
            Assert.Contains($"VM {vm} is running on it", snap.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
            var info = await StorageTestKit.QemuImg.InfoAsync(path);
            Assert.Equal(1_000_000_000L, info.VirtualSize);
            Assert.Empty(info.Snapshots);
        }
        finally
        {
            using var d = kit.Connection.TryLookupDomainByName(vm);
            if (d is not null && d.IsActive())
            {
                d.Destroy();
            }
        }
    }

    [LabFact]
    public async Task CloneDisk_makes_an_independent_full_copy_of_the_whole_chain_in_the_target_pool_without_leaving_a_temporary_file()
    {
        using var kit = StorageTestKit.Open();
        var (sourcePool, sourceDir) = kit.NewPool();
        var (targetPool, targetDir) = kit.NewPool();
        var baseName = LabEnvironment.UniqueName("base");
        var basePath = await kit.NewDiskAsync(sourcePool, sourceDir, baseName);
        await StorageTestKit.WriteAsync(basePath, 0x11, 0, 65536);
        var disk = LabEnvironment.UniqueName("disk");
        var diskPath = Path.Combine(sourceDir, disk);
        await StorageTestKit.QemuImg.CreateAsync(diskPath, "qcow2", null, basePath, "qcow2");
        await StorageTestKit.WriteAsync(diskPath, 0x22, 65536, 65536);
        var newName = LabEnvironment.UniqueName("clone");
        File.WriteAllText(Path.Combine(targetDir, CloneDiskHandler.TemporaryName(newName)), "stale partial copy of an interrupted attempt");
        var view = new JsonObject { ["pool"] = sourcePool };

        var result = (await StorageTestKit.RunAsync(new CloneDiskHandler(kit.Libvirt, StorageTestKit.QemuImg), disk, Clone(targetPool, newName), volumeView: view)).Ok();

        var clonePath = Path.Combine(targetDir, newName);
        var info = await StorageTestKit.QemuImg.InfoAsync(clonePath);
        Assert.Equal(("qcow2", 1_000_000_000L, (string?)null), (info.Format, info.VirtualSize, info.BackingFilename));
        Assert.True(await StorageTestKit.ReadsAsync(clonePath, 0x11, 0, 65536));
        Assert.True(await StorageTestKit.ReadsAsync(clonePath, 0x22, 65536, 65536));
        Assert.Equal([clonePath], Directory.GetFiles(targetDir));
        using (var p = kit.Connection.LookupStoragePoolByName(targetPool))
        {
            using var vol = p.TryLookupStorageVolByName(newName);
            Assert.NotNull(vol);
        }

        // the clone is independent: writing to it leaves the source as it was
        await StorageTestKit.WriteAsync(clonePath, 0x33, 0, 65536);
        Assert.True(await StorageTestKit.ReadsAsync(diskPath, 0x11, 0, 65536));
        Assert.Equal(disk, (string?)result.View!["disk"]);
    }

    [LabFact]
    public async Task CloneDisk_onto_an_existing_name_fails_on_a_first_attempt_and_succeeds_on_a_resumed_one_without_rewriting_it()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        await kit.NewDiskAsync(pool, dir, disk);
        var newName = LabEnvironment.UniqueName("clone");
        var handler = new CloneDiskHandler(kit.Libvirt, StorageTestKit.QemuImg);
        (await StorageTestKit.RunAsync(handler, disk, Clone(pool, newName))).Ok();
        var clonePath = Path.Combine(dir, newName);
        var written = File.GetLastWriteTimeUtc(clonePath);

        var again = await StorageTestKit.RunAsync(handler, disk, Clone(pool, newName));
        var resumed = await StorageTestKit.RunAsync(handler, disk, Clone(pool, newName), attempt: 2);
        var self = await StorageTestKit.RunAsync(handler, disk, Clone(pool, disk));

        Assert.Contains($"A volume named {newName} already exists in pool {pool}", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Equal(written, File.GetLastWriteTimeUtc(clonePath));
        self.Fails(ErrorClasses.VirtctlError);
        Assert.Equal(2, Directory.GetFiles(dir).Length);
    }
}
