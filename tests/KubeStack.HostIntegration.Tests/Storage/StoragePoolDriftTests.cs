using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Watch;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// showPool registers what is on disk and the storage resync (<see cref="StoragePoolWatcher"/>) keeps spec.pool true:
/// files made and removed behind libvirt's back, with the API emulator and the real agent controller.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class StoragePoolDriftTests
{
    [LabFact]
    public async Task The_storage_resync_registers_files_made_behind_libvirts_back_and_reports_the_drift_once()
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

        await QemuImg.Default.CreateAsync(Path.Combine(poolPath, "disk1"), "qcow2", 1 << 20);
        await QemuImg.Default.CreateAsync(Path.Combine(poolPath, "old-file"), "qcow2", 1 << 20);
        await agent.ApplyAsync(Kinds.VirtualMachinePool, poolName, "showPool", StorageRequests.PoolType());
        var shown = await agent.FinishedAsync(Kinds.VirtualMachinePool, poolName, "showPool");
        Assert.Equal(RequestPhase.Succeeded, shown.Status!.Lifecycle!.Phase);
        Assert.Equal(["disk1", "old-file"], shown.Spec.Pool!["unregistered"]!.AsArray().Select(v => (string?)v));

        // behind libvirt's back: one file appears, one goes; a disk object claims disk1
        await QemuImg.Default.CreateAsync(Path.Combine(poolPath, "stray-file"), "qcow2", 1 << 20);
        File.Delete(Path.Combine(poolPath, "old-file"));
        var disk = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachineDisk,
            Metadata = new V1ObjectMeta { Name = "disk1", NamespaceProperty = "default" },
            Spec = new KubeStackSpec { Volume = new JsonObject { ["pool"] = poolName } },
        };
        var inventory = new StorageInventory(kind => kind == Kinds.VirtualMachineDisk ? [disk] : kind == Kinds.VirtualMachinePool ? [shown] : []);
        var watcher = new StoragePoolWatcher(agent.Libvirt, new KubeObjectApi(agent.Client, StorageAgentHarness.Catalog),
            new EventRecorder(agent.Client, "kubestack-node-agent", StorageAgentHarness.Node), inventory, StorageAgentHarness.Node,
            TimeSpan.FromHours(1), NullLogger<StoragePoolWatcher>.Instance);

        Assert.True(await watcher.RefreshAsync(shown, CancellationToken.None));
        Assert.False(await watcher.RefreshAsync(shown, CancellationToken.None), "a second resync finds nothing new");

        var refreshed = (await agent.GetAsync(Kinds.VirtualMachinePool, poolName))!.Spec.Pool!;
        Assert.Equal(["disk1", "stray-file"], refreshed["volumes"]!.AsArray().Select(v => (string?)v));
        Assert.Equal(["stray-file"], refreshed["unregistered"]!.AsArray().Select(v => (string?)v));
        var drift = await agent.EventAsync(poolName, ErrorClasses.VirtletError);
        Assert.Equal("Warning", drift.Type);
        Assert.Contains("volume(s) appeared: stray-file; volume(s) disappeared: old-file", drift.Message, StringComparison.Ordinal);
        Assert.Single(await agent.EventsAsync(poolName), e => e.Reason == ErrorClasses.VirtletError);

        File.Delete(Path.Combine(poolPath, "disk1"));
        File.Delete(Path.Combine(poolPath, "stray-file"));
    }
}
