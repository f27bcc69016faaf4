using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.HostIntegration.Tests.Lifecycle;

/// <summary>VirtualMachineDisk requests through the real agent runtime against libvirtd (qemu:///system).</summary>
[Collection(LabCollection.Name)]
public sealed class DiskLifecycleTests
{
    private const string Pool = Kinds.VirtualMachinePool;
    private const string Disk = Kinds.VirtualMachineDisk;

    /// <summary>A running dir pool under /mnt/localfs made through createPool.</summary>
    private static async Task<(string Name, string Path)> NewPoolAsync(StorageAgentHarness agent, LibvirtCleanup cleanup)
    {
        var name = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var path = cleanup.PathToDelete(StorageRequests.PoolPath(name));
        await agent.ApplyAsync(Pool, name, "createPool", StorageRequests.CreatePool(path, autostart: false));
        Assert.Equal(RequestPhase.Succeeded, (await agent.FinishedAsync(Pool, name, "createPool")).Status!.Lifecycle!.Phase);
        return (name, path);
    }

    [LabFact]
    public async Task CreateDisk_in_a_pool_that_does_not_exist_fails_with_LibvirtError_and_creates_nothing()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        var missingPool = LabEnvironment.UniqueName("nopool");
        var diskName = LabEnvironment.UniqueName("disk");

        await agent.ApplyAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(missingPool));
        var failed = await agent.FinishedAsync(Disk, diskName, "createDisk");

        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError), (failed.Status!.Lifecycle!.Phase, failed.Status.Lifecycle.Reason));
        Assert.Contains($"Storage pool {missingPool} does not exist on node {StorageAgentHarness.Node}", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal("False", failed.Status.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Equal(("Failure", ErrorClasses.LibvirtError), (failed.Spec.Status!.Status, failed.Spec.Status.Reason));
        var warning = await agent.EventAsync(diskName, ErrorClasses.LibvirtError);
        Assert.Equal("Warning", warning.Type);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(missingPool));
        Assert.Null(failed.Spec.Volume);

        // nothing on the host: kubectl delete lets the object go at once
        await agent.DeleteAsync(Disk, diskName);
        await agent.WaitGoneAsync(Disk, diskName);
    }

    [LabFact]
    public async Task CreateDisk_again_with_the_same_size_succeeds_and_with_a_different_size_fails_leaving_the_volume_unchanged()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var (poolName, poolPath) = await NewPoolAsync(agent, cleanup);
        var diskName = LabEnvironment.UniqueName("disk");
        var diskPath = Path.Combine(poolPath, diskName);

        await agent.ApplyAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(poolName, 1_000_000_000));
        var first = (await agent.FinishedAsync(Disk, diskName, "createDisk")).Status!.Lifecycle!;
        Assert.True(first.Phase == RequestPhase.Succeeded, first.Message);
        var modified = File.GetLastWriteTimeUtc(diskPath);

        await agent.SubmitAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(poolName, 1_000_000_000));
        var same = await agent.WaitForAsync(Disk, diskName, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Attempts == 1
            && o.Status.Lifecycle.Generation > 1 && o.Status.Lifecycle.Phase is RequestPhase.Succeeded or RequestPhase.Failed, "the same createDisk again");
        Assert.True(same.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, same.Status.Lifecycle.Message);
        Assert.Contains("exists", same.Status.Lifecycle.Message, StringComparison.Ordinal);

        await agent.SubmitAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(poolName, 2_000_000_000));
        var different = await agent.WaitForAsync(Disk, diskName,
            o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase == RequestPhase.Failed, "createDisk with another size failing");
        Assert.Equal(ErrorClasses.LibvirtError, different.Status!.Lifecycle!.Reason);
        Assert.Contains("already exists", different.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal("Warning", (await agent.EventAsync(diskName, ErrorClasses.LibvirtError)).Type);
        var info = await QemuImg.Default.InfoAsync(diskPath);
        Assert.Equal(("qcow2", 1_000_000_512L), (info.Format, info.VirtualSize));
        Assert.Equal(modified, File.GetLastWriteTimeUtc(diskPath));
        Assert.Single(Directory.GetFiles(poolPath));
    }

    [LabFact]
    public async Task A_disk_attached_to_a_defined_VM_is_not_deleted_by_deleteDisk_or_kubectl_delete_until_the_VM_is_gone()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var (poolName, poolPath) = await NewPoolAsync(agent, cleanup);
        var diskName = LabEnvironment.UniqueName("disk");
        var diskPath = Path.Combine(poolPath, diskName);
        await agent.ApplyAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(poolName));
        Assert.Equal(RequestPhase.Succeeded, (await agent.FinishedAsync(Disk, diskName, "createDisk")).Status!.Lifecycle!.Phase);

        var vmName = cleanup.Domain(LabEnvironment.UniqueName("vm"));
        using (agent.Connection.DefineXml(LabGuest.DomainXml(vmName, $"/var/lib/kubestack-lab/tests/{vmName}.log", diskPath)))
        {
        }

        await agent.SubmitAsync(Disk, diskName, "deleteDisk", StorageRequests.DeleteDisk(poolName));
        var refused = await agent.WaitForAsync(Disk, diskName,
            o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { Key: "deleteDisk", Phase: RequestPhase.Failed }, "deleteDisk being refused");
        Assert.Equal(ErrorClasses.LibvirtError, refused.Status!.Lifecycle!.Reason);
        Assert.Contains($"attached to VM {vmName}", refused.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(diskPath));

        await agent.DeleteAsync(Disk, diskName);
        var held = await agent.WaitForAsync(Disk, diskName, o => o.Metadata.DeletionTimestamp is not null, "the deletion being recorded");
        Assert.Equal([Finalizers.HostCleanup], held.Metadata.Finalizers);
        await agent.WaitForAsync(Disk, diskName, _ => agent.EventsAsync(diskName).GetAwaiter().GetResult()
            .Count(e => e.Reason == ErrorClasses.LibvirtError && e.Message.Contains("Cleaning up", StringComparison.Ordinal)) >= 1, "a cleanup Warning Event");
        Assert.True(File.Exists(diskPath));

        using (var vm = agent.Connection.LookupDomainByName(vmName))
        {
            vm.Undefine();
        }

        await agent.WaitGoneAsync(Disk, diskName);
        Assert.False(File.Exists(diskPath));
    }
}
