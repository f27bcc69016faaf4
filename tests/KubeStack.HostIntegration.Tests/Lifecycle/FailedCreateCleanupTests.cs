using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Lifecycle;

/// <summary>
/// A createDisk whose first attempt made the volume but lost its reply (libvirtd died after acting), and whose later
/// attempts all met the outage, ends Failed with its volume on the host (docs/reliability.md, libvirtd restarted
/// mid-operation). kubectl delete of its object removes that volume, and nothing else; a createDisk refused because
/// another volume of that name was there leaves that volume alone.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class FailedCreateCleanupTests
{
    private const string Outage = "Creating disk failed on node lab-node: libvirt says: internal error: client socket is closed (virStoragePoolRefresh, error 1).";

    [LabFact]
    public async Task Deleting_a_createDisk_that_gave_up_after_its_effect_removes_the_volume_it_made_and_nothing_else()
    {
        var calls = 0;
        await using var cluster = await StorageAgentHarness.StartAsync(setup: new StorageAgentSetup
        {
            Wrap = handler => handler.Key == "createDisk" ? new EffectThenOutage(handler, () => Interlocked.Increment(ref calls)) : handler,
        });
        using var cleanup = new LibvirtCleanup(cluster.Connection);
        var (poolName, poolPath) = DefinePool(cluster, cleanup);
        var bystander = LabEnvironment.UniqueName("other");
        using (var pool = cluster.Connection.LookupStoragePoolByName(poolName))
        using (pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml(bystander, StorageRequests.OneGigabyte)))
        {
        }

        var diskName = LabEnvironment.UniqueName("disk");
        await cluster.ApplyAsync(Kinds.VirtualMachineDisk, diskName, "createDisk", StorageRequests.CreateDisk(poolName));
        var failed = await cluster.FinishedAsync(Kinds.VirtualMachineDisk, diskName, "createDisk");

        var record = failed.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError, 5), (record.Phase, record.Reason, record.Attempts));
        Assert.Equal(5, calls);
        Assert.Contains("createDisk failed after 5 attempts on node lab-node; the agent gave up.", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("retries it", record.Message, StringComparison.Ordinal);
        Assert.Null(failed.Spec.Volume);
        Assert.Equal(poolName, FailedCreate.PoolOf(failed));
        var diskPath = Path.Combine(poolPath, diskName);
        Assert.Equal(("qcow2", StorageRequests.OneGigabyte), await InfoAsync(diskPath)); // the effect is on the host, complete

        await cluster.DeleteAsync(Kinds.VirtualMachineDisk, diskName);
        await cluster.WaitGoneAsync(Kinds.VirtualMachineDisk, diskName);

        Assert.False(File.Exists(diskPath), $"{diskPath} was left behind by kubectl delete of the failed createDisk.");
        Assert.Equal([bystander], VolumesIn(cluster, poolName));
        Assert.Equal([bystander], Directory.GetFiles(poolPath).Select(Path.GetFileName));
        Assert.Equal(("qcow2", StorageRequests.OneGigabyte), await InfoAsync(Path.Combine(poolPath, bystander)));
        using var after = cluster.Connection.LookupStoragePoolByName(poolName);
        Assert.True(after.IsActive());
    }

    [LabFact]
    public async Task Deleting_a_createDisk_refused_because_another_volume_had_its_name_keeps_that_volume()
    {
        await using var cluster = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(cluster.Connection);
        var (poolName, poolPath) = DefinePool(cluster, cleanup);
        var diskName = LabEnvironment.UniqueName("disk");
        using (var pool = cluster.Connection.LookupStoragePoolByName(poolName))
        using (pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml(diskName, 2 * StorageRequests.OneGigabyte)))
        {
        }

        await cluster.ApplyAsync(Kinds.VirtualMachineDisk, diskName, "createDisk", StorageRequests.CreateDisk(poolName));
        var failed = await cluster.FinishedAsync(Kinds.VirtualMachineDisk, diskName, "createDisk");
        Assert.Equal((RequestPhase.Failed, 1), (failed.Status!.Lifecycle!.Phase, failed.Status.Lifecycle.Attempts));
        Assert.Contains("already exists", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Null(FailedCreate.PoolOf(failed));

        await cluster.DeleteAsync(Kinds.VirtualMachineDisk, diskName);
        await cluster.WaitGoneAsync(Kinds.VirtualMachineDisk, diskName);

        Assert.Equal(("qcow2", 2 * StorageRequests.OneGigabyte), await InfoAsync(Path.Combine(poolPath, diskName)));
        Assert.Equal([diskName], VolumesIn(cluster, poolName));
    }

    private static (string Name, string Path) DefinePool(StorageAgentHarness cluster, LibvirtCleanup cleanup)
    {
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var poolPath = cleanup.PathToDelete(StorageRequests.PoolPath(poolName));
        using var pool = cluster.Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, poolPath));
        pool.Build();
        pool.Create();
        return (poolName, poolPath);
    }

    private static async Task<(string Format, long Size)> InfoAsync(string path)
    {
        var info = await QemuImg.Default.InfoAsync(path);
        return (info.Format, info.VirtualSize);
    }

    private static string[] VolumesIn(StorageAgentHarness cluster, string poolName)
    {
        using var pool = cluster.Connection.LookupStoragePoolByName(poolName);
        pool.Refresh();
        return [.. pool.ListAllVolumes().Select(v =>
        {
            using (v)
            {
                return v.Name;
            }
        }).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The first attempt runs the real handler (the volume is made) and then loses its reply; every later attempt meets
    /// the outage before it can probe: the retryable connection failure libvirtd's death gives.
    /// </summary>
    private sealed class EffectThenOutage(ILifecycleHandler inner, Func<int> count) : ILifecycleHandler
    {
        public string Kind => inner.Kind;
        public string Key => inner.Key;

        public async Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
        {
            if (count() == 1)
            {
                var result = await inner.HandleAsync(context, cancellationToken);
                Assert.IsType<HandlerResult.Success>(result);
            }

            return HandlerResult.Failed(ErrorClasses.LibvirtError, Outage, retryable: true);
        }
    }
}
