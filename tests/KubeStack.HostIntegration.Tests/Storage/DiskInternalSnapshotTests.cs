using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>create/revert/deleteDiskInternalSnapshot on real qcow2 files, with the bytes checked by qemu-io.</summary>
[Collection(LabCollection.Name)]
public sealed class DiskInternalSnapshotTests
{
    private static JsonObject Snap(string pool, string name) => new() { ["type"] = "localfs", ["pool"] = pool, ["snapshotname"] = name };

    [LabFact]
    public async Task Reverting_to_an_internal_snapshot_brings_back_the_bytes_written_before_it_and_deleting_it_removes_only_that_snapshot()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        var path = await kit.NewDiskAsync(pool, dir, disk);
        var create = new CreateDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var revert = new RevertDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var delete = new DeleteDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);

        await StorageTestKit.WriteAsync(path, 0x11, 0, 65536);
        (await StorageTestKit.RunAsync(create, disk, Snap(pool, "snap1"))).Ok();
        await StorageTestKit.WriteAsync(path, 0x22, 0, 65536);
        (await StorageTestKit.RunAsync(create, disk, Snap(pool, "snap2"))).Ok();
        await StorageTestKit.WriteAsync(path, 0x33, 0, 65536);
        Assert.Equal(["snap1", "snap2"], (await StorageTestKit.QemuImg.InfoAsync(path)).Snapshots.Select(s => s.Name));

        (await StorageTestKit.RunAsync(revert, disk, Snap(pool, "snap1"))).Ok();
        Assert.True(await StorageTestKit.ReadsAsync(path, 0x11, 0, 65536));
        (await StorageTestKit.RunAsync(revert, disk, Snap(pool, "snap2"))).Ok();
        Assert.True(await StorageTestKit.ReadsAsync(path, 0x22, 0, 65536));

        var deleted = (await StorageTestKit.RunAsync(delete, disk, Snap(pool, "snap1"))).Ok();
        Assert.Equal(["snap2"], (await StorageTestKit.QemuImg.InfoAsync(path)).Snapshots.Select(s => s.Name));
        Assert.True(await StorageTestKit.ReadsAsync(path, 0x22, 0, 65536));
        Assert.Equal(path, (string?)deleted.View!["filename"]);
        Assert.Equal("qcow2", (string?)deleted.View["format"]);
    }

    [LabFact]
    public async Task Snapshot_names_already_there_or_missing_fail_on_a_first_attempt_and_converge_on_a_resumed_one()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        var path = await kit.NewDiskAsync(pool, dir, disk);
        var create = new CreateDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var revert = new RevertDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var delete = new DeleteDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        (await StorageTestKit.RunAsync(create, disk, Snap(pool, "snap1"))).Ok();

        var twice = await StorageTestKit.RunAsync(create, disk, Snap(pool, "snap1"));
        var resumedCreate = await StorageTestKit.RunAsync(create, disk, Snap(pool, "snap1"), attempt: 2);
        var revertMissing = await StorageTestKit.RunAsync(revert, disk, Snap(pool, "nosnap"));
        var deleteMissing = await StorageTestKit.RunAsync(delete, disk, Snap(pool, "nosnap"));
        var resumedDelete = await StorageTestKit.RunAsync(delete, disk, Snap(pool, "nosnap"), attempt: 2);
        var badName = await StorageTestKit.RunAsync(create, disk, Snap(pool, "-x"));

        Assert.Contains("already has an internal snapshot named snap1", twice.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumedCreate.Ok();
        Assert.Contains("has no internal snapshot named nosnap (it has: snap1)", revertMissing.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        deleteMissing.Fails(ErrorClasses.LibvirtError);
        resumedDelete.Ok();
        Assert.Contains("createDiskInternalSnapshot.snapshotname must be", badName.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Single((await StorageTestKit.QemuImg.InfoAsync(path)).Snapshots);
    }

    [LabFact]
    public async Task Internal_snapshots_of_a_raw_disk_are_refused_with_VirtctlError()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var disk = LabEnvironment.UniqueName("disk");
        await kit.NewDiskAsync(pool, dir, disk, 1_000_000_000, "raw");

        var result = await StorageTestKit.RunAsync(new CreateDiskInternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), disk, Snap(pool, "snap1"));

        Assert.Contains("needs a qcow2 disk", result.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
    }
}
