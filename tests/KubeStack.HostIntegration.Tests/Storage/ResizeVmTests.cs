using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>resizeVM: offline with qemu-img on a shut-off lab domain, live with virDomainBlockResize on a running one.</summary>
[Collection(LabCollection.Name)]
public sealed class ResizeVmTests
{
    private static JsonObject Resize(string path, string sizeKiB) => new() { ["path"] = path, ["size"] = sizeKiB };

    [LabFact]
    public async Task ResizeVM_of_a_shut_off_VM_grows_its_disk_offline_and_keeps_its_data()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var disk = await kit.Storage.NewDiskAsync(pool, dir, vm + "-sys", 1_000_000_000);
        await StorageTestKit.WriteAsync(disk, 0x6b, 0, 65536);
        kit.DefineVm(vm, disk).Dispose();

        var result = (await StorageTestKit.RunAsync(new ResizeVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, Resize(disk, "1,048,576"))).Ok();

        Assert.Equal(1L << 30, (await VmImageTestKit.QemuImg.InfoAsync(disk)).VirtualSize);
        Assert.True(await StorageTestKit.ReadsAsync(disk, 0x6b, 0, 65536));
        Assert.Contains("offline (qemu-img resize)", result.Message, StringComparison.Ordinal);
        Assert.Equal("Shutdown", result.PowerState);
    }

    [LabFact]
    public async Task ResizeVM_refuses_shrinking_the_same_size_and_a_path_that_is_not_its_disk_but_a_resumed_attempt_at_the_size_succeeds()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var disk = await kit.Storage.NewDiskAsync(pool, dir, vm + "-sys", 2L << 30);
        var other = await kit.Storage.NewDiskAsync(pool, dir, vm + "-other", 1L << 30);
        kit.DefineVm(vm, disk).Dispose();
        var handler = new ResizeVMHandler(kit.Host, VmImageTestKit.QemuImg);

        var shrink = await StorageTestKit.RunAsync(handler, vm, Resize(disk, "1048576"));
        var same = await StorageTestKit.RunAsync(handler, vm, Resize(disk, "2097152"));
        var notItsDisk = await StorageTestKit.RunAsync(handler, vm, Resize(other, "4194304"));
        var resumed = await StorageTestKit.RunAsync(handler, vm, Resize(disk, "2097152"), attempt: 2);

        Assert.Contains("resizeVM.size 1048576 KiB (1073741824 bytes) is smaller than disk vda", shrink.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("is the current size of disk vda", same.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains($"resizeVM.path {other} is not a disk of VM {vm}", notItsDisk.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Equal(2L << 30, (await VmImageTestKit.QemuImg.InfoAsync(disk)).VirtualSize);
        Assert.Equal(1L << 30, (await VmImageTestKit.QemuImg.InfoAsync(other)).VirtualSize);
    }

    [LabFact]
    public async Task ResizeVM_of_a_running_VM_grows_the_disk_live_through_libvirt()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var disk = await kit.Storage.NewDiskAsync(pool, dir, vm + "-sys", 1_000_000_000);
        using (var domain = kit.DefineVm(vm, disk))
        {
            domain.Create();
        }

        var result = (await StorageTestKit.RunAsync(new ResizeVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, Resize(disk, "1500000"))).Ok();

        Assert.Equal(1_536_000_000L, (await VmImageTestKit.QemuImg.InfoAsync(disk)).VirtualSize);
        Assert.Contains("live (virDomainBlockResize", result.Message, StringComparison.Ordinal);
        Assert.Equal("Running", result.PowerState);
        using var running = kit.Connection.LookupDomainByName(vm);
        Assert.True(running.IsActive());
    }
}
