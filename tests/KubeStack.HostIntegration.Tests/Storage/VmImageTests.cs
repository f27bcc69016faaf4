using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;
using KubeStack.NodeAgent.Libvirt;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>VirtualMachineImage createImage/deleteImage/convertImageToVM and VirtualMachine convertVMToImage on real files and libvirtd.</summary>
[Collection(LabCollection.Name)]
public sealed class VmImageTests
{
    private static JsonObject CreateImage(string disk, string pool) => new() { ["disk"] = disk, ["targetPool"] = pool };

    private static JsonObject Target(string pool) => new() { ["targetPool"] = pool };

    [LabFact]
    public async Task CreateImage_copies_the_whole_disk_chain_into_the_pool_with_a_template_and_refuses_the_name_again()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var disk = await kit.ChainedDiskAsync(pool, dir, LabEnvironment.UniqueName("src"));
        var image = LabEnvironment.UniqueName("img");
        var handler = new CreateImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host);

        var result = (await StorageTestKit.RunAsync(handler, image, CreateImage(disk, pool))).Ok();

        var imageDisk = Path.Combine(dir, $"{image}.vda");
        var info = await VmImageTestKit.QemuImg.InfoAsync(imageDisk);
        Assert.Equal(("qcow2", (string?)null, 64L << 20), (info.Format, info.BackingFilename, info.VirtualSize));
        Assert.True(await VmImageTestKit.HoldsChainDataAsync(imageDisk));
        var template = Path.Combine(dir, $"{image}.xml");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(template));
        Assert.Contains($"{image}.vda", kit.Volumes(pool));
        Assert.Contains($"{image}.xml", kit.Volumes(pool));
        Assert.Empty(Directory.GetFiles(dir, "*.part"));
        Assert.Equal(image, (string?)result.View!["name"]!["text"]);
        Assert.Contains(imageDisk, result.View.ToJsonString(), StringComparison.Ordinal);

        var again = await StorageTestKit.RunAsync(handler, image, CreateImage(disk, pool));
        var resumed = await StorageTestKit.RunAsync(handler, image, CreateImage(disk, pool), attempt: 2);

        Assert.Contains($"A VM image named {image} already exists", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Equal(2, Directory.GetFiles(dir, $"{image}.*").Length);
    }

    [LabFact]
    public async Task ConvertVMToImage_and_back_keep_the_machine_and_its_data_and_leave_no_image_or_domain_behind()
    {
        using var kit = VmImageTestKit.Open();
        var (vmPool, vmDir) = kit.Storage.NewPool();
        var (imagePool, imageDir) = kit.Storage.NewPool();
        var (backPool, backDir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var system = await kit.ChainedDiskAsync(vmPool, vmDir, vm + "-sys");
        var data = await kit.Storage.NewDiskAsync(vmPool, vmDir, vm + "-data", 32 << 20);
        await StorageTestKit.WriteAsync(data, 0x33, 0, 1 << 20);
        Guid uuid;
        using (var domain = kit.DefineVm(vm, system, data))
        {
            uuid = domain.Uuid;
        }

        var toImage = (await StorageTestKit.RunAsync(new ConvertVMToImageHandler(kit.Host, VmImageTestKit.QemuImg), vm, Target(imagePool))).Ok();

        using (var gone = kit.Connection.TryLookupDomainByName(vm))
        {
            Assert.Null(gone);
        }

        Assert.True(toImage.ExtraSpec!.ContainsKey("domain") && toImage.ExtraSpec["domain"] is null);
        Assert.Contains($"apply a VirtualMachineImage named {vm} labelled host={StorageTestKit.Node} whose createImage names the image's own disk", toImage.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(system) && File.Exists(data), "the VM's own disk files are kept");
        Assert.True(await VmImageTestKit.HoldsChainDataAsync(Path.Combine(imageDir, $"{vm}.vda")));
        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(imageDir, $"{vm}.vdb"), 0x33, 0, 1 << 20));
        var image = VmImageStore.TryRead(kit.Connection, imagePool, vm, StorageTestKit.Node)!;
        Assert.Equal(uuid.ToString("D"), (string?)image.Template.Element("uuid"));
        Assert.Equal([Path.Combine(imageDir, $"{vm}.vda"), Path.Combine(imageDir, $"{vm}.vdb")], image.Disks.Select(d => d.Path));

        // A VirtualMachineImage object registers the converted image by naming its own disk file.
        var register = new CreateImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host);
        var registered = (await StorageTestKit.RunAsync(register, vm, CreateImage(image.Disks[0].Path, imagePool))).Ok();
        Assert.Contains("registered", registered.Message, StringComparison.Ordinal);

        kit.Storage.Cleanup.Domain(vm);
        var toVm = (await StorageTestKit.RunAsync(new ConvertImageToVMHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host), vm, Target(backPool))).Ok();

        using (var back = kit.Connection.LookupDomainByName(vm))
        {
            Assert.Equal(uuid, back.Uuid);
            Assert.Equal(DomainState.Shutoff, back.GetState().State);
        }

        var disks = VmDiskCopies.FileDisks(kit.Definition(vm));
        Assert.Equal([Path.Combine(backDir, $"{vm}-vda"), Path.Combine(backDir, $"{vm}-vdb")], disks.Select(d => d.Path));
        Assert.True(await VmImageTestKit.HoldsChainDataAsync(disks[0].Path));
        Assert.True(await StorageTestKit.ReadsAsync(disks[1].Path, 0x33, 0, 1 << 20));
        Assert.Contains(VmImageTestKit.FirstMac, kit.Definition(vm).ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(imageDir));
        Assert.Equal("Shutdown", toVm.PowerState);

        var deleted = (await StorageTestKit.RunAsync(new DeleteImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg), vm, [])).Ok();
        Assert.Contains("nothing was left to delete", deleted.Message, StringComparison.Ordinal);
    }

    [LabFact]
    public async Task ConvertVMToImage_refuses_a_running_VM_and_changes_nothing()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var disk = await kit.Storage.NewDiskAsync(pool, dir, vm + "-sys", 32 << 20);
        using (var domain = kit.DefineVm(vm, disk))
        {
            domain.Create();
        }

        var result = await StorageTestKit.RunAsync(new ConvertVMToImageHandler(kit.Host, VmImageTestKit.QemuImg), vm, Target(pool));

        Assert.Contains("must be shut off", result.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Equal([vm + "-sys"], kit.Volumes(pool));
        using var still = kit.Connection.LookupDomainByName(vm);
        Assert.True(still.IsActive());
    }

    [LabFact]
    public async Task DeleteImage_is_refused_while_a_volume_backs_onto_it_and_the_cleanup_removes_it_afterwards()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var source = await kit.Storage.NewDiskAsync(pool, dir, LabEnvironment.UniqueName("src"), 32 << 20);
        var image = LabEnvironment.UniqueName("img");
        (await StorageTestKit.RunAsync(new CreateImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host), image, CreateImage(source, pool))).Ok();
        var imageDisk = Path.Combine(dir, $"{image}.vda");
        var overlay = Path.Combine(dir, LabEnvironment.UniqueName("overlay"));
        await VmImageTestKit.QemuImg.CreateAsync(overlay, "qcow2", null, imageDisk, "qcow2");
        var delete = new DeleteImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg);

        var refused = await StorageTestKit.RunAsync(delete, image, []);

        Assert.Contains($"volume {pool}/{Path.GetFileName(overlay)}", refused.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.True(File.Exists(imageDisk) && File.Exists(Path.Combine(dir, $"{image}.xml")));

        var obj = new KubeStackResource { ApiVersion = KubeStackResource.GroupVersion, Kind = Kinds.VirtualMachineImage, Metadata = new() { Name = image, NamespaceProperty = "default" }, Spec = new() };
        var observed = await new VmImageStateReader(kit.Storage.Libvirt).ReadAsync(obj, StorageTestKit.Node, CancellationToken.None);
        Assert.Equal(image, (string?)observed!.View!["name"]!["text"]);

        File.Delete(overlay);
        var cleaned = await new VmImageCleanup(kit.Storage.Libvirt, VmImageTestKit.QemuImg).CleanupAsync(
            new() { Object = obj, NodeName = StorageTestKit.Node, Logger = NullLogger.Instance }, CancellationToken.None);

        cleaned.Ok();
        Assert.Equal([Path.GetFileName(source)], Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.Null(await new VmImageStateReader(kit.Storage.Libvirt).ReadAsync(obj, StorageTestKit.Node, CancellationToken.None));
    }

    [LabFact]
    public async Task ConvertImageToVM_refuses_when_a_domain_of_that_name_exists_and_keeps_the_image()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var source = await kit.Storage.NewDiskAsync(pool, dir, LabEnvironment.UniqueName("src"), 32 << 20);
        var name = LabEnvironment.UniqueName("img");
        (await StorageTestKit.RunAsync(new CreateImageHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host), name, CreateImage(source, pool))).Ok();
        kit.DefineVm(name, source).Dispose();

        var result = await StorageTestKit.RunAsync(new ConvertImageToVMHandler(kit.Storage.Libvirt, VmImageTestKit.QemuImg, kit.Host), name, Target(pool));

        Assert.Contains($"a domain named {name} already exists", result.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.NotNull(VmImageStore.TryRead(kit.Connection, pool, name, StorageTestKit.Node));
        Assert.False(File.Exists(Path.Combine(dir, $"{name}-vda")));
    }
}
