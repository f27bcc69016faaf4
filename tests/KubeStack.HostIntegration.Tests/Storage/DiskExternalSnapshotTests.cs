using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>External disk snapshots as backing chains: known bytes at each level, checked after every revert, merge and delete.</summary>
[Collection(LabCollection.Name)]
public sealed class DiskExternalSnapshotTests
{
    private const long K64 = 65536;

    private static JsonObject Req(string pool, string vol) => new() { ["type"] = "localfs", ["pool"] = pool, ["format"] = "qcow2", ["vol"] = vol };

    private static async Task AssertBytesAsync(string path, params (long Offset, byte Pattern)[] expected)
    {
        foreach (var (offset, pattern) in expected)
        {
            Assert.True(await StorageTestKit.ReadsAsync(path, pattern, offset, K64), $"{path} at {offset} should read 0x{pattern:x2}");
        }
    }

    [LabFact]
    public async Task A_chain_of_three_snapshots_reads_the_right_bytes_after_every_revert_and_delete()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var vol = LabEnvironment.UniqueName("disk");
        var disk = await kit.NewDiskAsync(pool, dir, vol);
        var create = new CreateDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var revert = new RevertDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var delete = new DeleteDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        string Snap(string s) => Path.Combine(dir, $"{vol}.{s}");

        await StorageTestKit.WriteAsync(disk, 0x01, 0, K64);
        (await StorageTestKit.RunAsync(create, "snap1", Req(pool, vol))).Ok();
        await StorageTestKit.WriteAsync(disk, 0x02, K64, K64);
        (await StorageTestKit.RunAsync(create, "snap2", Req(pool, vol))).Ok();
        await StorageTestKit.WriteAsync(disk, 0x03, 2 * K64, K64);
        var third = (await StorageTestKit.RunAsync(create, "snap3", Req(pool, vol))).Ok();
        await StorageTestKit.WriteAsync(disk, 0x04, 0, K64);

        var chain = await StorageTestKit.QemuImg.InfoBackingChainAsync(disk);
        Assert.Equal([disk, Snap("snap3"), Snap("snap2"), Snap("snap1")], chain.Select(i => i.Filename));
        Assert.Equal(4, ((JsonArray)third.View!["backing_chain"]!).Count);
        await AssertBytesAsync(disk, (0, 0x04), (K64, 0x02), (2 * K64, 0x03));

        // revert to the middle snapshot: the later data is gone from the disk, snap3 stays a valid chain of its own
        (await StorageTestKit.RunAsync(revert, "snap2", Req(pool, vol))).Ok();
        await AssertBytesAsync(disk, (0, 0x01), (K64, 0x02), (2 * K64, 0x00));
        await AssertBytesAsync(Snap("snap3"), (0, 0x01), (K64, 0x02), (2 * K64, 0x03));
        await StorageTestKit.WriteAsync(disk, 0x05, 3 * K64, K64);

        // delete snap2, which backs both the disk and snap3: both are merged, bytes unchanged
        (await StorageTestKit.RunAsync(delete, "snap2", Req(pool, vol))).Ok();
        Assert.False(File.Exists(Snap("snap2")));
        Assert.Equal(Snap("snap1"), (await StorageTestKit.QemuImg.InfoAsync(disk)).BackingFilename);
        Assert.Equal(Snap("snap1"), (await StorageTestKit.QemuImg.InfoAsync(Snap("snap3"))).BackingFilename);
        await AssertBytesAsync(disk, (0, 0x01), (K64, 0x02), (2 * K64, 0x00), (3 * K64, 0x05));
        await AssertBytesAsync(Snap("snap3"), (0, 0x01), (K64, 0x02), (2 * K64, 0x03));

        // revert to snap3, then delete the base snapshot: snap3 is flattened
        (await StorageTestKit.RunAsync(revert, "snap3", Req(pool, vol))).Ok();
        await AssertBytesAsync(disk, (0, 0x01), (K64, 0x02), (2 * K64, 0x03), (3 * K64, 0x00));
        (await StorageTestKit.RunAsync(delete, "snap1", Req(pool, vol))).Ok();
        Assert.False(File.Exists(Snap("snap1")));
        Assert.Equal([disk, Snap("snap3")], (await StorageTestKit.QemuImg.InfoBackingChainAsync(disk)).Select(i => i.Filename));
        await AssertBytesAsync(disk, (0, 0x01), (K64, 0x02), (2 * K64, 0x03), (3 * K64, 0x00));
        Assert.True((await StorageTestKit.QemuImg.CheckAsync(disk)).IsClean);
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".part", StringComparison.Ordinal));
    }

    [LabFact]
    public async Task Repeated_and_missing_snapshot_names_fail_on_a_first_attempt_and_converge_on_a_resumed_one()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var vol = LabEnvironment.UniqueName("disk");
        var disk = await kit.NewDiskAsync(pool, dir, vol);
        var create = new CreateDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        (await StorageTestKit.RunAsync(create, "snap1", Req(pool, vol))).Ok();

        var again = await StorageTestKit.RunAsync(create, "snap1", Req(pool, vol));
        var resumed = await StorageTestKit.RunAsync(create, "snap1", Req(pool, vol), attempt: 2);
        var revertMissing = await StorageTestKit.RunAsync(new RevertDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), "nosnap", Req(pool, vol));
        var deleteMissing = await StorageTestKit.RunAsync(new DeleteDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), "nosnap", Req(pool, vol));
        var deleteResumed = await StorageTestKit.RunAsync(new DeleteDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), "nosnap", Req(pool, vol), attempt: 2);

        Assert.Contains("already has a snapshot file", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Contains("has no external snapshot nosnap", revertMissing.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        deleteMissing.Fails(ErrorClasses.LibvirtError);
        deleteResumed.Ok();
        Assert.Equal([disk, Path.Combine(dir, $"{vol}.snap1")], (await StorageTestKit.QemuImg.InfoBackingChainAsync(disk)).Select(i => i.Filename));
    }
}
