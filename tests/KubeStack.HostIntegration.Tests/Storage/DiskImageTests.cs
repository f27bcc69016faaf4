using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>createDiskImage, createDiskImageFromDisk, deleteDiskImage and createDiskFromDiskImage on real files, bytes checked with qemu-io.</summary>
[Collection(LabCollection.Name)]
public sealed class DiskImageTests
{
    /// <summary>A directory under /mnt/localfs (an allowed root) outside any pool.</summary>
    private static string NewSourceDir(StorageTestKit kit)
    {
        var dir = kit.Cleanup.PathToDelete($"/mnt/localfs/{LabEnvironment.UniqueName("src")}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [LabFact]
    public async Task CreateDiskImage_qcow2_flattens_the_source_into_the_pool_and_iso_copies_an_iso_byte_for_byte()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var src = NewSourceDir(kit);
        var basePath = Path.Combine(src, "base.qcow2");
        await StorageTestKit.QemuImg.CreateAsync(basePath, "qcow2", 1_000_000_000);
        await StorageTestKit.WriteAsync(basePath, 0x41, 0, 65536);
        var topPath = Path.Combine(src, "top.qcow2");
        await StorageTestKit.QemuImg.CreateAsync(topPath, "qcow2", null, basePath, "qcow2");
        await StorageTestKit.WriteAsync(topPath, 0x42, 65536, 65536);
        var isoDir = Directory.CreateDirectory(Path.Combine(src, "content")).FullName;
        await File.WriteAllTextAsync(Path.Combine(isoDir, "hello.txt"), "hello");
        var isoPath = Path.Combine(src, "seed.iso");
        await HostToolRunner.Default.RunAsync("xorriso", ["-as", "mkisofs", "-quiet", "-o", isoPath, "-V", "TESTISO", isoDir], CancellationToken.None);
        var handler = new CreateDiskImageHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var qcowName = LabEnvironment.UniqueName("img");
        var isoName = LabEnvironment.UniqueName("iso");

        var qcow = (await StorageTestKit.RunAsync(handler, qcowName, new JsonObject { ["imageType"] = "qcow2", ["source"] = topPath, ["targetPool"] = pool })).Ok();
        var iso = (await StorageTestKit.RunAsync(handler, isoName, new JsonObject { ["imageType"] = "iso", ["source"] = isoPath, ["targetPool"] = pool })).Ok();
        var notIso = await StorageTestKit.RunAsync(handler, LabEnvironment.UniqueName("bad"), new JsonObject { ["imageType"] = "iso", ["source"] = basePath, ["targetPool"] = pool });
        var outside = await StorageTestKit.RunAsync(handler, LabEnvironment.UniqueName("bad"), new JsonObject { ["imageType"] = "qcow2", ["source"] = "/etc/passwd", ["targetPool"] = pool });
        var again = await StorageTestKit.RunAsync(handler, qcowName, new JsonObject { ["imageType"] = "qcow2", ["source"] = topPath, ["targetPool"] = pool });

        var imagePath = Path.Combine(dir, qcowName);
        var info = await StorageTestKit.QemuImg.InfoAsync(imagePath);
        Assert.Equal(("qcow2", (string?)null), (info.Format, info.BackingFilename));
        Assert.True(await StorageTestKit.ReadsAsync(imagePath, 0x41, 0, 65536));
        Assert.True(await StorageTestKit.ReadsAsync(imagePath, 0x42, 65536, 65536));
        Assert.Equal(imagePath, (string?)qcow.View!["filename"]);
        Assert.Equal(pool, (string?)iso.View!["pool"]);
        Assert.Equal(await File.ReadAllBytesAsync(isoPath), await File.ReadAllBytesAsync(Path.Combine(dir, isoName)));
        Assert.Contains("is not an ISO 9660 image", notIso.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        outside.Fails(ErrorClasses.VirtctlError);
        Assert.Contains("already exists", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Equal(new[] { Path.Combine(dir, isoName), imagePath }.Order(StringComparer.Ordinal), Directory.GetFiles(dir).Order(StringComparer.Ordinal));
    }

    [LabFact]
    public async Task An_image_made_from_a_disk_backs_an_overlay_disk_and_cannot_be_deleted_until_that_disk_is_gone()
    {
        using var kit = StorageTestKit.Open();
        var (diskPool, diskDir) = kit.NewPool();
        var (imagePool, imageDir) = kit.NewPool();
        var sourceDisk = LabEnvironment.UniqueName("disk");
        var sourcePath = await kit.NewDiskAsync(diskPool, diskDir, sourceDisk);
        await StorageTestKit.WriteAsync(sourcePath, 0x61, 0, 65536);
        var image = LabEnvironment.UniqueName("img");
        var imagePath = Path.Combine(imageDir, image);

        (await StorageTestKit.RunAsync(new CreateDiskImageFromDiskHandler(kit.Libvirt, StorageTestKit.QemuImg), image,
            new JsonObject { ["targetPool"] = imagePool, ["sourcePool"] = diskPool, ["sourceVolume"] = sourceDisk })).Ok();
        await StorageTestKit.WriteAsync(sourcePath, 0x62, 0, 65536); // the image is a copy: later writes to the disk do not reach it
        Assert.True(await StorageTestKit.ReadsAsync(imagePath, 0x61, 0, 65536));

        var fromImage = new CreateDiskFromDiskImageHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var overlay = LabEnvironment.UniqueName("ovl");
        var full = LabEnvironment.UniqueName("full");
        var overlayResult = (await StorageTestKit.RunAsync(fromImage, overlay,
            new JsonObject { ["type"] = "localfs", ["targetPool"] = diskPool, ["source"] = imagePath })).Ok();
        (await StorageTestKit.RunAsync(fromImage, full,
            new JsonObject { ["type"] = "localfs", ["targetPool"] = diskPool, ["source"] = imagePath, ["full_copy"] = "true" })).Ok();
        var overlayPath = Path.Combine(diskDir, overlay);
        var overlayInfo = await StorageTestKit.QemuImg.InfoAsync(overlayPath);
        Assert.Equal((imagePath, "qcow2"), (overlayInfo.BackingFilename, overlayInfo.BackingFilenameFormat));
        Assert.Equal(imagePath, (string?)overlayResult.View!["backing_filename"]);
        Assert.True(await StorageTestKit.ReadsAsync(overlayPath, 0x61, 0, 65536));
        Assert.Null((await StorageTestKit.QemuImg.InfoAsync(Path.Combine(diskDir, full))).BackingFilename);
        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(diskDir, full), 0x61, 0, 65536));

        var delete = new DeleteDiskImageHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var refused = await StorageTestKit.RunAsync(delete, image, new JsonObject { ["sourcePool"] = imagePool });
        Assert.Contains($"is still used by volume {diskPool}/{overlay}", refused.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.True(File.Exists(imagePath));

        using (var p = kit.Connection.LookupStoragePoolByName(diskPool))
        using (var v = p.LookupStorageVolByName(overlay))
        {
            v.Delete();
        }

        (await StorageTestKit.RunAsync(delete, image, new JsonObject { ["sourcePool"] = imagePool })).Ok();
        Assert.False(File.Exists(imagePath));
        Assert.Contains("nothing was left to delete", (await StorageTestKit.RunAsync(delete, image, new JsonObject { ["sourcePool"] = imagePool }, attempt: 2)).Ok().Message,
            StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(imageDir));
    }
}
