using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>The readers (restart, resync) and kubectl-delete cleanups of VirtualMachineDiskImage and VirtualMachineDiskSnapshot objects.</summary>
[Collection(LabCollection.Name)]
public sealed class StorageObjectCleanupTests
{
    private static KubeStackResource Obj(string kind, string name, JsonObject volume) => new()
    {
        ApiVersion = KubeStackResource.GroupVersion,
        Kind = kind,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
        Spec = new KubeStackSpec { Volume = volume },
    };

    private static CleanupContext Cleanup(KubeStackResource obj) => new() { Object = obj, NodeName = StorageTestKit.Node, Logger = NullLogger.Instance };

    [LabFact]
    public async Task A_disk_image_object_is_read_from_its_pool_and_its_cleanup_waits_while_a_volume_backs_onto_it()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var image = LabEnvironment.UniqueName("img");
        var imagePath = await kit.NewDiskAsync(pool, dir, image, 16 << 20);
        var overlay = Path.Combine(dir, LabEnvironment.UniqueName("overlay"));
        await StorageTestKit.QemuImg.CreateAsync(overlay, "qcow2", null, imagePath, "qcow2");
        var obj = Obj(Kinds.VirtualMachineDiskImage, image, new JsonObject { ["pool"] = pool });
        var reader = new DiskImageStateReader(kit.Libvirt, StorageTestKit.QemuImg);
        var cleanup = new DiskImageCleanup(kit.Libvirt, StorageTestKit.QemuImg);

        var observed = await reader.ReadAsync(obj, StorageTestKit.Node, CancellationToken.None);
        var held = await cleanup.CleanupAsync(Cleanup(obj), CancellationToken.None);

        Assert.Equal(imagePath, (string?)observed!.View!["filename"]);
        Assert.Equal(pool, (string?)observed.View["pool"]);
        Assert.Contains($"volume {pool}/{Path.GetFileName(overlay)}", held.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.True(File.Exists(imagePath));

        File.Delete(overlay);
        (await cleanup.CleanupAsync(Cleanup(obj), CancellationToken.None)).Ok();

        Assert.False(File.Exists(imagePath));
        Assert.Null(await reader.ReadAsync(obj, StorageTestKit.Node, CancellationToken.None));
        (await cleanup.CleanupAsync(Cleanup(obj), CancellationToken.None)).Ok();
    }

    [LabFact]
    public async Task A_disk_snapshot_object_is_read_from_its_file_and_its_cleanup_merges_it_into_the_disk_first()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var vol = LabEnvironment.UniqueName("disk");
        var disk = await kit.NewDiskAsync(pool, dir, vol, 16 << 20);
        await StorageTestKit.WriteAsync(disk, 0x77, 0, 65536);
        var snapshot = LabEnvironment.UniqueName("snap");
        var request = new JsonObject { ["type"] = "localfs", ["pool"] = pool, ["format"] = "qcow2", ["vol"] = vol };
        var created = (await StorageTestKit.RunAsync(new CreateDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg), snapshot, request)).Ok();
        var obj = Obj(Kinds.VirtualMachineDiskSnapshot, snapshot, (JsonObject)created.View!.DeepClone());
        var snapshotPath = Path.Combine(dir, $"{vol}.{snapshot}");

        var observed = await new DiskSnapshotStateReader(kit.Libvirt, StorageTestKit.QemuImg).ReadAsync(obj, StorageTestKit.Node, CancellationToken.None);
        var cleaned = await new DiskSnapshotCleanup(kit.Libvirt, StorageTestKit.QemuImg).CleanupAsync(Cleanup(obj), CancellationToken.None);

        Assert.Equal(snapshotPath, (string?)observed!.View!["filename"]);
        Assert.Equal(snapshot, (string?)observed.View["snapshot"]);
        cleaned.Ok();
        Assert.False(File.Exists(snapshotPath));
        Assert.Null((await StorageTestKit.QemuImg.InfoAsync(disk)).BackingFilename);
        Assert.True(await StorageTestKit.ReadsAsync(disk, 0x77, 0, 65536), "the snapshot's data was merged into the disk");
        Assert.Null(await new DiskSnapshotStateReader(kit.Libvirt, StorageTestKit.QemuImg).ReadAsync(obj, StorageTestKit.Node, CancellationToken.None));
    }
}
