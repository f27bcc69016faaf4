using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Lifecycle;

/// <summary>VirtualMachinePool requests through the real agent runtime against libvirtd (qemu:///system).</summary>
[Collection(LabCollection.Name)]
public sealed class PoolLifecycleTests
{
    private const string Pool = Kinds.VirtualMachinePool;
    private const string Disk = Kinds.VirtualMachineDisk;

    [LabFact]
    public async Task CreatePool_createDisk_deleteDisk_deletePool_really_happen_on_the_host_and_both_views_tell_the_truth()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var poolPath = cleanup.PathToDelete(StorageRequests.PoolPath(poolName));
        var diskName = LabEnvironment.UniqueName("disk");

        // createPool → a running, autostarted dir pool at the path, recorded in spec.pool and .status
        await agent.ApplyAsync(Pool, poolName, "createPool", StorageRequests.CreatePool(poolPath), eventId: "pool-create-1");
        var created = await agent.FinishedAsync(Pool, poolName, "createPool");
        Assert.Equal(RequestPhase.Succeeded, created.Status!.Lifecycle!.Phase);
        Assert.Equal("pool-create-1", created.Status.Lifecycle.EventId);
        Assert.Equal("True", created.Status.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Equal(StorageAgentHarness.Node, created.Status.NodeName);
        Assert.Equal("Success", created.Spec.Status!.Status);
        Assert.Equal([Finalizers.HostCleanup], created.Metadata.Finalizers);
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.True(pool.IsActive());
            Assert.True(pool.GetAutostart());
            Assert.True(Directory.Exists(poolPath));
            var info = pool.GetInfo();
            var view = created.Spec.Pool!;
            Assert.Equal(pool.Uuid.ToString(), (string?)view["uuid"]);
            Assert.Equal(
                ("dir", "dir", "vmd", poolName, poolName, "running", "yes", "yes", poolPath, poolPath),
                ((string?)view["_type"], (string?)view["pooltype"], (string?)view["content"], (string?)view["name"], (string?)view["poolname"],
                    (string?)view["state"], (string?)view["autostart"], (string?)view["persistent"], (string?)view["path"], (string?)view["url"]));
            Assert.Equal(info.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)view["capacity"]);
            Assert.True(ulong.Parse((string)view["free"]!, System.Globalization.CultureInfo.InvariantCulture) > 0);
            Assert.Equal("0", (string?)view["volumecount"]);
        }

        Assert.Equal([EventReasons.LifecycleStarted, EventReasons.LifecycleSucceeded], (await agent.EventsAsync(poolName)).Select(e => e.Reason));

        // createDisk → a real qcow2 file of the capacity in the pool directory
        await agent.ApplyAsync(Disk, diskName, "createDisk", StorageRequests.CreateDisk(poolName));
        var disk = await agent.FinishedAsync(Disk, diskName, "createDisk");
        Assert.Equal(RequestPhase.Succeeded, disk.Status!.Lifecycle!.Phase);
        var diskPath = Path.Combine(poolPath, diskName);
        Assert.True(File.Exists(diskPath), $"{diskPath} should exist");
        var qemuInfo = await QemuImg.Default.InfoAsync(diskPath);
        Assert.Equal(("qcow2", StorageRequests.OneGigabyte), (qemuInfo.Format, qemuInfo.VirtualSize));
        var volume = disk.Spec.Volume!;
        Assert.Equal(
            (diskName, diskPath, "qcow2", "1073741824", poolName, "localfs", ""),
            ((string?)volume["disk"], (string?)volume["filename"], (string?)volume["format"], (string?)volume["virtual_size"],
                (string?)volume["pool"], (string?)volume["disktype"], (string?)volume["vm"]));
        Assert.Equal("qcow2", (string?)volume["format_specific"]!["type"]);

        // deletePool while it holds the disk → Failed, LibvirtError, Warning Event; the pool and the disk stay
        await agent.SubmitAsync(Pool, poolName, "deletePool", StorageRequests.PoolType());
        var refused = await agent.FinishedAsync(Pool, poolName, "deletePool");
        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError), (refused.Status!.Lifecycle!.Phase, refused.Status.Lifecycle.Reason));
        Assert.Contains(diskName, refused.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal(("Failure", ErrorClasses.LibvirtError), (refused.Spec.Status!.Status, refused.Spec.Status.Reason));
        var warning = await agent.EventAsync(poolName, ErrorClasses.LibvirtError);
        Assert.Equal("Warning", warning.Type);
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.True(pool.IsActive());
        }

        Assert.True(File.Exists(diskPath));

        // deleteDisk → the file is gone and the object is deleted
        await agent.SubmitAsync(Disk, diskName, "deleteDisk", StorageRequests.DeleteDisk(poolName));
        await agent.WaitGoneAsync(Disk, diskName);
        Assert.False(File.Exists(diskPath));

        // deletePool → stopped, empty directory removed, undefined, object deleted
        await agent.SubmitAsync(Pool, poolName, "deletePool", StorageRequests.PoolType());
        await agent.WaitGoneAsync(Pool, poolName);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(poolName));
        Assert.False(Directory.Exists(poolPath));
    }

    [LabFact]
    public async Task StopPool_startPool_autoStartPool_change_the_pool_and_stopping_a_stopped_pool_fails()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var poolPath = cleanup.PathToDelete(StorageRequests.PoolPath(poolName));
        await agent.ApplyAsync(Pool, poolName, "createPool", StorageRequests.CreatePool(poolPath, type: "localfs", autostart: false));
        var created = await agent.FinishedAsync(Pool, poolName, "createPool");
        Assert.Equal(RequestPhase.Succeeded, created.Status!.Lifecycle!.Phase);
        Assert.Equal(("localfs", "no"), ((string?)created.Spec.Pool!["pooltype"], (string?)created.Spec.Pool["autostart"]));

        await agent.SubmitAsync(Pool, poolName, "stopPool", StorageRequests.PoolType());
        var stopped = await agent.FinishedAsync(Pool, poolName, "stopPool");
        Assert.Equal(RequestPhase.Succeeded, stopped.Status!.Lifecycle!.Phase);
        Assert.Equal("inactive", (string?)stopped.Spec.Pool!["state"]);
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.False(pool.IsActive());
        }

        await agent.SubmitAsync(Pool, poolName, "stopPool", StorageRequests.PoolType());
        var again = await agent.WaitForAsync(Pool, poolName,
            o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase == RequestPhase.Failed, "the second stopPool failing");
        Assert.Equal(ErrorClasses.LibvirtError, again.Status!.Lifecycle!.Reason);
        Assert.Contains("not active", again.Status.Lifecycle.Message, StringComparison.Ordinal);

        await agent.SubmitAsync(Pool, poolName, "startPool", StorageRequests.PoolType());
        var started = await agent.FinishedAsync(Pool, poolName, "startPool");
        Assert.Equal(("running", RequestPhase.Succeeded), ((string?)started.Spec.Pool!["state"], started.Status!.Lifecycle!.Phase));

        await agent.SubmitAsync(Pool, poolName, "autoStartPool", new JsonObject { ["type"] = "localfs", ["disable"] = false });
        var on = await agent.FinishedAsync(Pool, poolName, "autoStartPool");
        Assert.Equal("yes", (string?)on.Spec.Pool!["autostart"]);
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.True(pool.IsActive());
            Assert.True(pool.GetAutostart());
        }

        await agent.SubmitAsync(Pool, poolName, "autoStartPool", new JsonObject { ["disable"] = true });
        await agent.WaitForAsync(Pool, poolName, o => o.Spec.Lifecycle is null && (string?)o.Spec.Pool?["autostart"] == "no", "autostart off");
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.False(pool.GetAutostart());
        }

        // kubectl delete of the empty pool: stopped, directory removed, undefined, then the object goes
        await agent.DeleteAsync(Pool, poolName);
        await agent.WaitGoneAsync(Pool, poolName);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(poolName));
        Assert.False(Directory.Exists(poolPath));
    }

    [LabFact]
    public async Task ShowPool_registers_a_pool_made_with_libvirt_and_reports_the_volumes_found_on_disk()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var poolPath = cleanup.PathToDelete(StorageRequests.PoolPath(poolName));
        using (var pool = agent.Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, poolPath)))
        {
            pool.Build();
            pool.Create();
        }

        // a file made behind libvirt's back is a volume too
        await QemuImg.Default.CreateAsync(Path.Combine(poolPath, "found-on-disk"), "qcow2", 1 << 20);

        await agent.ApplyAsync(Pool, poolName, "showPool", StorageRequests.PoolType());
        var shown = await agent.FinishedAsync(Pool, poolName, "showPool");
        Assert.Equal(RequestPhase.Succeeded, shown.Status!.Lifecycle!.Phase);
        var view = shown.Spec.Pool!;
        Assert.Equal(("running", poolPath, "localfs", "1"), ((string?)view["state"], (string?)view["path"], (string?)view["pooltype"], (string?)view["volumecount"]));
        Assert.Equal(["found-on-disk"], view["volumes"]!.AsArray().Select(v => (string?)v));

        // kubectl delete of a pool that holds a volume waits, saying what holds it
        await agent.DeleteAsync(Pool, poolName);
        var held = await agent.EventAsync(poolName, ErrorClasses.LibvirtError);
        Assert.Equal("Warning", held.Type);
        Assert.Contains("found-on-disk", held.Message, StringComparison.Ordinal);
        Assert.NotNull(await agent.GetAsync(Pool, poolName));
        using (var pool = agent.Connection.LookupStoragePoolByName(poolName))
        {
            Assert.True(pool.IsActive());
        }

        File.Delete(Path.Combine(poolPath, "found-on-disk"));
        await agent.WaitGoneAsync(Pool, poolName);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(poolName));
    }

    [LabFact]
    public async Task CreatePool_outside_the_allowed_roots_or_through_a_symlink_out_of_them_fails_with_VirtctlError_and_creates_nothing()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var outsideName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var outsidePath = cleanup.PathToDelete($"/var/lib/kubestack-lab/tests/{outsideName}");
        var linkName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var escapeTarget = cleanup.PathToDelete(Directory.CreateTempSubdirectory("kst-escape-").FullName);
        var link = cleanup.PathToDelete(StorageRequests.PoolPath(linkName));
        File.CreateSymbolicLink(link, escapeTarget);

        await agent.ApplyAsync(Pool, outsideName, "createPool", StorageRequests.CreatePool(outsidePath));
        await agent.ApplyAsync(Pool, linkName, "createPool", StorageRequests.CreatePool($"{link}/pool"));
        foreach (var (name, path) in new[] { (outsideName, outsidePath), (linkName, $"{escapeTarget}/pool") })
        {
            var failed = await agent.FinishedAsync(Pool, name, "createPool");
            Assert.Equal((RequestPhase.Failed, ErrorClasses.VirtctlError), (failed.Status!.Lifecycle!.Phase, failed.Status.Lifecycle.Reason));
            Assert.Contains("allowed", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
            Assert.Equal("Warning", (await agent.EventAsync(name, ErrorClasses.VirtctlError)).Type);
            Assert.Null(agent.Connection.TryLookupStoragePoolByName(name));
            Assert.False(Directory.Exists(path), $"{path} must not be created");
        }
    }

    [LabFact]
    public async Task CreatePool_of_type_uus_fails_with_VirtctlError_naming_the_missing_vendor_cli()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var name = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        await agent.ApplyAsync(Pool, name, "createPool", new JsonObject
        {
            ["type"] = "uus",
            ["content"] = "vmd",
            ["url"] = "uus-iscsi-independent://192.168.3.10:7000/p1/4/2/0/32/0/3",
            ["opt"] = "iscsi",
        });
        var failed = await agent.FinishedAsync(Pool, name, "createPool");
        Assert.Equal((RequestPhase.Failed, ErrorClasses.VirtctlError), (failed.Status!.Lifecycle!.Phase, failed.Status.Lifecycle.Reason));
        Assert.Contains("cstor-cli", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal(400, failed.Spec.Status!.Code);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(name));
    }
    [LabFact]
    public async Task CreatePool_of_type_nfs_that_cannot_mount_fails_with_LibvirtError_and_undoes_its_definition_and_mount_point()
    {
        await using var agent = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(agent.Connection);
        var name = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var cstorName = "kst" + Guid.NewGuid().ToString("N")[..12];
        var mountPoint = cleanup.PathToDelete($"/var/lib/libvirt/cstor/{cstorName}");

        // nothing serves NFS on 127.0.0.1 here (and mount.nfs may be missing): libvirt's mount fails
        await agent.ApplyAsync(Pool, name, "createPool", new JsonObject
        {
            ["type"] = "nfs",
            ["content"] = "vmd",
            ["url"] = "127.0.0.1:/exports/kst-none",
            ["opt"] = "nolock,soft,timeo=10,retrans=1",
            ["uuid"] = cstorName,
        });
        var failed = await agent.FinishedAsync(Pool, name, "createPool");

        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError), (failed.Status!.Lifecycle!.Phase, failed.Status.Lifecycle.Reason));
        Assert.Contains("libvirt says", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal("Warning", (await agent.EventAsync(name, ErrorClasses.LibvirtError)).Type);
        Assert.Null(agent.Connection.TryLookupStoragePoolByName(name));
        Assert.False(Directory.Exists(mountPoint), $"{mountPoint} made by this attempt must be removed");
    }
}
