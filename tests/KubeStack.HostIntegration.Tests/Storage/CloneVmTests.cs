using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>cloneVM on lab domains defined on real qcow2 chains (never started unless the test says so).</summary>
[Collection(LabCollection.Name)]
public sealed class CloneVmTests
{
    [LabFact]
    public async Task CloneVM_defines_a_shut_off_copy_with_a_new_UUID_and_MAC_on_full_standalone_disk_copies()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var clone = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("clone"));
        var system = await kit.ChainedDiskAsync(pool, dir, vm + "-sys");
        Guid uuid;
        using (var domain = kit.DefineVm(vm, system))
        {
            uuid = domain.Uuid;
        }

        var result = (await StorageTestKit.RunAsync(new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, new JsonObject { ["name"] = clone })).Ok();

        using (var copy = kit.Connection.LookupDomainByName(clone))
        {
            Assert.NotEqual(uuid, copy.Uuid);
            Assert.Equal(CloneVMHandler.CloneUuid(uuid, clone), copy.Uuid);
            Assert.Equal(DomainState.Shutoff, copy.GetState().State);
        }

        var copyPath = Path.Combine(dir, $"{clone}-vda");
        Assert.Equal([copyPath], VmDiskCopies.FileDisks(kit.Definition(clone)).Select(d => d.Path));
        var info = await VmImageTestKit.QemuImg.InfoAsync(copyPath);
        Assert.Null(info.BackingFilename);
        Assert.True(await VmImageTestKit.HoldsChainDataAsync(copyPath));
        var mac = (string?)kit.Definition(clone).Element("devices")!.Element("interface")!.Element("mac")!.Attribute("address");
        Assert.NotEqual(VmImageTestKit.FirstMac, mac);
        Assert.Contains(VmImageTestKit.FirstMac, kit.Definition(vm).ToString(), StringComparison.Ordinal);
        Assert.Equal([system], VmDiskCopies.FileDisks(kit.Definition(vm)).Select(d => d.Path));
        Assert.Equal(vm, (string?)result.View!["name"]!["text"]);
        Assert.Contains($"{clone}-vda", kit.Volumes(pool));
        // no object is made for the clone (docs/decisions.md result-objects): the message says exactly which one to apply
        Assert.Contains($"apply a VirtualMachine named {clone} labelled host={StorageTestKit.Node}", result.Message, StringComparison.Ordinal);

        var resumed = (await StorageTestKit.RunAsync(new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, new JsonObject { ["name"] = clone }, attempt: 2)).Ok();
        var again = await StorageTestKit.RunAsync(new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, new JsonObject { ["name"] = clone });
        Assert.Contains("earlier attempt", resumed.Message, StringComparison.Ordinal);
        Assert.Contains($"a domain named {clone} already exists", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
    }

    [LabFact]
    public async Task CloneVM_with_file_mac_and_nonsparse_writes_fully_allocated_copies_to_the_given_paths()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var clone = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("clone"));
        var a = await kit.Storage.NewDiskAsync(pool, dir, vm + "-a", 16 << 20);
        var b = await kit.Storage.NewDiskAsync(pool, dir, vm + "-b", 16 << 20);
        await StorageTestKit.WriteAsync(b, 0x44, 0, 4096);
        kit.DefineVm(vm, a, b).Dispose();
        var fileA = Path.Combine(dir, clone + "-first");
        var fileB = Path.Combine(dir, clone + "-second");

        (await StorageTestKit.RunAsync(new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, new JsonObject
        {
            ["name"] = clone, ["file"] = $"{fileA} --file {fileB}", ["mac"] = "7E:0C:B0:EF:6A:04", ["nonsparse"] = "true",
        })).Ok();

        var definition = kit.Definition(clone);
        Assert.Equal([fileA, fileB], VmDiskCopies.FileDisks(definition).Select(d => d.Path));
        Assert.Equal("7e:0c:b0:ef:6a:04", (string?)definition.Element("devices")!.Element("interface")!.Element("mac")!.Attribute("address"));
        Assert.True(await StorageTestKit.ReadsAsync(fileB, 0x44, 0, 4096));
        Assert.True((await VmImageTestKit.QemuImg.InfoAsync(fileA)).ActualSize >= 16 << 20, "nonsparse copies are fully allocated");
    }

    [LabFact]
    public async Task CloneVM_that_fails_on_its_second_disk_removes_the_first_copy_and_defines_nothing()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var clone = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("clone"));
        var a = await kit.Storage.NewDiskAsync(pool, dir, vm + "-a", 16 << 20);
        var b = await kit.Storage.NewDiskAsync(pool, dir, vm + "-b", 16 << 20);
        kit.DefineVm(vm, a, b).Dispose();
        var taken = await kit.Storage.NewDiskAsync(pool, dir, $"{clone}-vdb", 16 << 20);

        var result = await StorageTestKit.RunAsync(new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg), vm, new JsonObject { ["name"] = clone });

        Assert.Contains($"the file {taken} for disk vdb", result.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, $"{clone}-vda")), "the first copy was removed");
        Assert.True(File.Exists(taken), "a file the request did not make is kept");
        Assert.Empty(Directory.GetFiles(dir, ".*"));
        using var none = kit.Connection.TryLookupDomainByName(clone);
        Assert.Null(none);
    }

    [LabFact]
    public async Task CloneVM_refuses_a_running_VM_and_a_file_count_that_does_not_match_its_disks()
    {
        using var kit = VmImageTestKit.Open();
        var (pool, dir) = kit.Storage.NewPool();
        var vm = LabEnvironment.UniqueName("vm");
        var clone = LabEnvironment.UniqueName("clone");
        var a = await kit.Storage.NewDiskAsync(pool, dir, vm + "-a", 16 << 20);
        using var domain = kit.DefineVm(vm, a);
        var handler = new CloneVMHandler(kit.Host, VmImageTestKit.QemuImg);

        var mismatch = await StorageTestKit.RunAsync(handler, vm, new JsonObject
        {
            ["name"] = clone, ["file"] = $"{dir}/x-one --file {dir}/x-two",
        });
        domain.Create();
        var running = await StorageTestKit.RunAsync(handler, vm, new JsonObject { ["name"] = clone });

        Assert.Contains("cloneVM.file names 2 path(s), but VM", mismatch.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("must be shut off", running.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Equal([vm + "-a"], kit.Volumes(pool));
    }
}
