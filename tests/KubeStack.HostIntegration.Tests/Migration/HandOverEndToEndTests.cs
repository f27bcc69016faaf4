using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Migration;

/// <summary>
/// The hand-over end to end: the API emulator, one real agent runtime per lab node (each watching only objects
/// labelled host=&lt;its node&gt;, each with its own libvirt), a migrateVM request on the source node's agent, then a
/// request on the migrated object that only the target node's agent can serve.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class HandOverEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Node2Fact]
    public async Task AfterMigrateVM_TheObjectBelongsToTheTargetNode_AndItsAgentServesTheNextRequest()
    {
        using var lab = new MigrationLab();
        await using var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(VmAgentHarness.RepoRoot, "crds")));
        using var client = api.CreateClient();
        var dir = lab.NewDir("handover");
        var disk = Path.Combine(dir, "vda.qcow2");
        await NodeAgent.HostTools.QemuImg.Default.CreateAsync(disk, "qcow2", 64L * 1024 * 1024);
        var (name, _) = lab.DefineGuest(disk);

        using var targetLibvirt = new LibvirtHost(MigrationLab.TargetUri);
        var sourceHost = lab.VmHost(allowUnsafe: false);
        var targetHost = new VmHost(targetLibvirt, new AgentOptions { NodeName = MigrationLab.TargetNode, DomainType = DomainType.Qemu });
        await using var source = await AgentRun.StartAsync(client, MigrationLab.SourceNode, sourceHost,
            [new MigrateVMHandler(sourceHost, lab.Targets), new StartVMHandler(sourceHost)]);
        await using var target = await AgentRun.StartAsync(client, MigrationLab.TargetNode, targetHost,
            [new MigrateVMHandler(targetHost, lab.Targets), new StartVMHandler(targetHost), new StopVMForceHandler(targetHost)]);

        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachine));
        await SubmitOfflineMigrationAsync(client, name);

        var moved = await WaitAsync(client, name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
            "migrateVM finishing");
        Assert.True(moved.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, moved.Status.Lifecycle.Message);
        Assert.Equal(MigrationLab.TargetNode, moved.Metadata.Labels[Labels.Host]);
        Assert.Equal(MigrationLab.TargetNode, moved.Spec.NodeName);
        Assert.Equal(MigrationLab.TargetNode, moved.Status.NodeName);
        Assert.Equal("Shutdown", moved.Spec.PowerState);
        Assert.False(MigrationLab.Has(lab.Source, name));

        // the next request is served by the target's agent (the source agent no longer sees the object)
        var patch = new V1Patch(new JsonObject { ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["startVM"] = new JsonObject() } } }
            .ToJsonString(), V1Patch.PatchType.MergePatch);
        var submitted = await client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, r.Group, r.Version, "default", r.Plural, name);
        var started = await WaitAsync(client, name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { Key: "startVM" } l
                                                        && l.Generation == submitted.Metadata.Generation && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
            "startVM finishing");
        Assert.True(started.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, started.Status.Lifecycle.Message);
        Assert.Contains(MigrationLab.TargetNode, started.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Equal(MigrationLab.TargetNode, started.Status.NodeName);
        using (var d = lab.Target.LookupDomainByName(name)) Assert.Equal(DomainState.Running, d.GetState().State);
        Assert.False(MigrationLab.Has(lab.Source, name));
    }

    [Node2Fact]
    public async Task ASourceAgentThatDiesAfterRecordingTheMigration_FinishesTheHandOverWhenItRestarts()
    {
        using var lab = new MigrationLab();
        await using var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(VmAgentHarness.RepoRoot, "crds")));
        using var client = api.CreateClient();
        var disk = Path.Combine(lab.NewDir("handcrash"), "vda.qcow2");
        await NodeAgent.HostTools.QemuImg.Default.CreateAsync(disk, "qcow2", 64L * 1024 * 1024);
        var (name, _) = lab.DefineGuest(disk);
        var sourceHost = lab.VmHost(allowUnsafe: false);

        var dying = await AgentRun.StartAsync(client, MigrationLab.SourceNode, sourceHost, [new MigrateVMHandler(sourceHost, lab.Targets)],
            crashAt: CrashPoints.AfterStatus);
        await SubmitOfflineMigrationAsync(client, name);
        await dying.Crashed.Task.WaitAsync(Timeout);
        await dying.DisposeAsync();

        // the outcome is recorded (owner: the target), the spec side is not: still labelled for the source
        var half = await WaitAsync(client, name, o => o.Status?.Lifecycle?.Phase == RequestPhase.Succeeded, "the recorded outcome");
        Assert.Equal(MigrationLab.TargetNode, half.Status!.NodeName);
        Assert.Equal(MigrationLab.SourceNode, half.Metadata.Labels[Labels.Host]);
        Assert.NotNull(half.Spec.Lifecycle);
        Assert.False(MigrationLab.Has(lab.Source, name));

        await using var restarted = await AgentRun.StartAsync(client, MigrationLab.SourceNode, sourceHost, [new MigrateVMHandler(sourceHost, lab.Targets)]);
        var moved = await WaitAsync(client, name, o => o.Spec.Lifecycle is null, "the hand-over after the restart");
        Assert.Equal(MigrationLab.TargetNode, moved.Metadata.Labels[Labels.Host]);
        Assert.Equal(MigrationLab.TargetNode, moved.Spec.NodeName);
        Assert.Equal(MigrationLab.TargetNode, moved.Status!.NodeName);
        Assert.Equal(1, moved.Status.Lifecycle!.Attempts);
        using var onTarget = lab.Target.LookupDomainByName(name);
        Assert.Equal(DomainState.Shutoff, onTarget.GetState().State);
    }

    [Node2Fact]
    public async Task AfterMigrateVMDisk_TheMovedDisksObjectFollowsToTheTargetNode_AndItsAgentResizesIt_ADiskWithoutObjectIsOnlyReported()
    {
        using var lab = new MigrationLab();
        await using var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(VmAgentHarness.RepoRoot, "crds")));
        using var client = api.CreateClient();
        var catalog = CatalogLoader.Default;
        var (sourcePool, sourceDir) = lab.NewPool(lab.Source, "m2src");
        var (targetPool, targetDir) = lab.NewPool(lab.Target, "m2dst");
        var diskName = $"kst-migrate2-{Guid.NewGuid():N}"[..24];
        var vda = Path.Combine(sourceDir, "vda.qcow2");
        var vdb = Path.Combine(sourceDir, diskName);
        await NodeAgent.HostTools.QemuImg.Default.CreateAsync(vda, "qcow2", 64L * 1024 * 1024);
        await NodeAgent.HostTools.QemuImg.Default.CreateAsync(vdb, "qcow2", 64L * 1024 * 1024);
        using (var p = lab.Source.LookupStoragePoolByName(sourcePool)) p.Refresh();
        var (name, _) = lab.DefineGuest(vda);
        using (var d = lab.Source.LookupDomainByName(name)) d.AttachDeviceFlags(LabGuest.DiskDeviceXml(vdb, "vdb"), DomainModificationFlags.Config);

        var dr = KubeObjectApi.ApiResourceOf(catalog.Kind(Kinds.VirtualMachineDisk));
        await CreateOnSourceAsync(client, Kinds.VirtualMachineDisk, diskName, new KubeStackSpec
        {
            NodeName = MigrationLab.SourceNode,
            Volume = new JsonObject { ["disk"] = diskName, ["pool"] = sourcePool, ["poolname"] = sourcePool, ["filename"] = vdb, ["current"] = vdb, ["disktype"] = "localfs" },
        });

        var objects = new KubeObjectApi(client, catalog);
        var sourceHost = lab.VmHost(allowUnsafe: false);
        using var targetLibvirt = new LibvirtHost(MigrationLab.TargetUri);
        var targetHost = new VmHost(targetLibvirt, new AgentOptions { NodeName = MigrationLab.TargetNode, DomainType = DomainType.Qemu });
        await using var source = await AgentRun.StartAsync(client, MigrationLab.SourceNode, sourceHost,
            [new MigrateVMDiskHandler(sourceHost, lab.Targets, new MigrationDiskObjects(new KubeDiskObjectLister(client), objects)),
             new NodeAgent.Lifecycle.VirtualMachineDisk.ResizeDiskHandler(lab.Libvirt, NodeAgent.HostTools.QemuImg.Default)]);
        await using var target = await AgentRun.StartAsync(client, MigrationLab.TargetNode, targetHost,
            [new NodeAgent.Lifecycle.VirtualMachineDisk.ResizeDiskHandler(targetLibvirt, NodeAgent.HostTools.QemuImg.Default)]);

        await CreateOnSourceAsync(client, Kinds.VirtualMachine, name, new KubeStackSpec
        {
            NodeName = MigrationLab.SourceNode,
            Lifecycle = new JsonObject
            {
                ["migrateVMDisk"] = new JsonObject { ["ip"] = MigrationLab.TargetAddress, ["migratedisks"] = $"vol={vda},pool={targetPool};vol={vdb},pool={targetPool}" },
            },
        });

        var vm = await WaitAsync(client, name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
            "migrateVMDisk finishing");
        Assert.True(vm.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, vm.Status.Lifecycle.Message);
        Assert.Equal(MigrationLab.TargetNode, vm.Metadata.Labels[Labels.Host]);
        Assert.Contains("no VirtualMachineDisk object of volume vda.qcow2", vm.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Contains($"VirtualMachineDisk {diskName} now belongs to node {MigrationLab.TargetNode}", vm.Status.Lifecycle.Message, StringComparison.Ordinal);

        var disk = await WaitAsync(client, diskName, _ => true, "reading the disk", Kinds.VirtualMachineDisk);
        var copy = Path.Combine(targetDir, diskName);
        Assert.Equal(MigrationLab.TargetNode, disk.Metadata.Labels[Labels.Host]);
        Assert.Equal(MigrationLab.TargetNode, disk.Spec.NodeName);
        Assert.Equal(MigrationLab.TargetNode, disk.Status!.NodeName);
        Assert.Equal(targetPool, (string?)disk.Spec.Volume!["pool"]);
        Assert.Equal(copy, (string?)disk.Spec.Volume["filename"]);
        Assert.False(File.Exists(vdb));

        // the next request on the disk is served by the target's agent, on the copy
        var patch = new V1Patch(new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["lifecycle"] = new JsonObject { ["resizeDisk"] = new JsonObject { ["type"] = "localfs", ["pool"] = targetPool, ["capacity"] = "2000000000" } },
            },
        }.ToJsonString(), V1Patch.PatchType.MergePatch);
        var submitted = await client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, dr.Group, dr.Version, "default", dr.Plural, diskName);
        var resized = await WaitAsync(client, diskName, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { Key: "resizeDisk" } l
                                                            && l.Generation == submitted.Metadata.Generation && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
            "resizeDisk finishing", Kinds.VirtualMachineDisk);
        Assert.True(resized.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, resized.Status.Lifecycle.Message);
        Assert.Contains(MigrationLab.TargetNode, resized.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.InRange((await NodeAgent.HostTools.QemuImg.Default.InfoAsync(copy)).VirtualSize, 2000000000L, 2000000000L + (1 << 20));
    }

    [Node2Fact]
    public async Task AMigrateVMDiskRetriedAfterACrashBetweenTheSwitchAndTheHandOver_HandsTheDiskObjectOver_AndAThirdRunLeavesItAlone()
    {
        using var lab = new MigrationLab();
        await using var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(VmAgentHarness.RepoRoot, "crds")));
        using var client = api.CreateClient();
        var (sourcePool, sourceDir) = lab.NewPool(lab.Source, "m2csrc");
        var (targetPool, targetDir) = lab.NewPool(lab.Target, "m2cdst");
        var diskName = $"kst-migrate2-{Guid.NewGuid():N}"[..24];
        var vda = Path.Combine(sourceDir, diskName);
        await NodeAgent.HostTools.QemuImg.Default.CreateAsync(vda, "qcow2", 64L * 1024 * 1024);
        using (var p = lab.Source.LookupStoragePoolByName(sourcePool)) p.Refresh();
        var (name, _) = lab.DefineGuest(vda);
        await CreateOnSourceAsync(client, Kinds.VirtualMachineDisk, diskName, new KubeStackSpec
        {
            NodeName = MigrationLab.SourceNode,
            Volume = new JsonObject { ["disk"] = diskName, ["pool"] = sourcePool, ["poolname"] = sourcePool, ["filename"] = vda, ["disktype"] = "localfs" },
        });
        var parameters = new JsonObject { ["ip"] = MigrationLab.TargetAddress, ["migratedisks"] = $"vol={vda},pool={targetPool}" };
        var diskObjects = new MigrationDiskObjects(new KubeDiskObjectLister(client), new KubeObjectApi(client, CatalogLoader.Default));

        // attempt 1 "dies" after the switch: an agent without the hand-over step stands for the crash before it
        Assert.IsType<HandlerResult.Success>(await MigrationLab.RunAsync(new MigrateVMDiskHandler(lab.VmHost(false), lab.Targets), name, parameters));
        var stale = await WaitAsync(client, diskName, _ => true, "reading the disk", Kinds.VirtualMachineDisk);
        Assert.Equal(MigrationLab.SourceNode, stale.Metadata.Labels[Labels.Host]);

        var resumed = Assert.IsType<HandlerResult.Success>(await MigrationLab.RunAsync(
            new MigrateVMDiskHandler(lab.VmHost(false), lab.Targets, diskObjects), name, parameters, attempt: 2));
        Assert.Contains($"VirtualMachineDisk {diskName} now belongs to node {MigrationLab.TargetNode}", resumed.Message, StringComparison.Ordinal);
        var moved = await WaitAsync(client, diskName, _ => true, "reading the disk", Kinds.VirtualMachineDisk);
        Assert.Equal(MigrationLab.TargetNode, moved.Metadata.Labels[Labels.Host]);
        Assert.Equal(MigrationLab.TargetNode, moved.Spec.NodeName);
        Assert.Equal(MigrationLab.TargetNode, moved.Status!.NodeName);
        Assert.Equal(Path.Combine(targetDir, diskName), (string?)moved.Spec.Volume!["filename"]);
        Assert.Equal(targetPool, (string?)moved.Spec.Volume["pool"]);

        // once more: the object is the target's now and is not touched again
        var third = Assert.IsType<HandlerResult.Success>(await MigrationLab.RunAsync(
            new MigrateVMDiskHandler(lab.VmHost(false), lab.Targets, diskObjects), name, parameters, attempt: 3));
        Assert.Contains($"VirtualMachineDisk {diskName} already belongs to node {MigrationLab.TargetNode}", third.Message, StringComparison.Ordinal);
        var after = await WaitAsync(client, diskName, _ => true, "reading the disk", Kinds.VirtualMachineDisk);
        Assert.Equal(moved.Metadata.ResourceVersion, after.Metadata.ResourceVersion);
    }

    /// <summary>kubectl apply of a VM labelled for the source node carrying migrateVM {ip: node2, offline: true}.</summary>
    private static Task SubmitOfflineMigrationAsync(Kubernetes client, string name)
    {
        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachine));
        return client.CustomObjects.CreateNamespacedCustomObjectAsync(new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta
            {
                Name = name, NamespaceProperty = "default",
                Labels = new Dictionary<string, string> { [Labels.Host] = MigrationLab.SourceNode, [Labels.EventId] = "ev-migrate" },
            },
            Spec = new KubeStackSpec
            {
                NodeName = MigrationLab.SourceNode,
                Lifecycle = new JsonObject { ["migrateVM"] = new JsonObject { ["ip"] = MigrationLab.TargetAddress, ["offline"] = true } },
            },
        }, r.Group, r.Version, "default", r.Plural);
    }

    /// <summary>Creates an object labelled for the source node (as kubectl apply would).</summary>
    private static Task CreateOnSourceAsync(Kubernetes client, string kind, string name, KubeStackSpec spec)
    {
        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(kind));
        return client.CustomObjects.CreateNamespacedCustomObjectAsync(new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string> { [Labels.Host] = MigrationLab.SourceNode } },
            Spec = spec,
        }, r.Group, r.Version, "default", r.Plural);
    }

    private static async Task<KubeStackResource> WaitAsync(Kubernetes client, string name, Func<KubeStackResource, bool> condition, string what,
        string kind = Kinds.VirtualMachine)
    {
        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(kind));
        var deadline = DateTime.UtcNow + Timeout;
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(r.Group, r.Version, "default", r.Plural, name);
            if (condition(last)) return last;
            await Task.Delay(100);
        }

        throw new TimeoutException($"{kind} {name}: {what} did not happen in time; last seen: {KubernetesJson.Serialize(last)}");
    }

    /// <summary>One node's agent runtime (controller + request processor) with the given handlers.</summary>
    private sealed class AgentRun : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private AgentController _controller = null!;
        private Task _run = Task.CompletedTask;

        public TaskCompletionSource Crashed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static async Task<AgentRun> StartAsync(Kubernetes client, string node, VmHost host, ILifecycleHandler[] handlers, string? crashAt = null)
        {
            var run = new AgentRun();
            var catalog = CatalogLoader.Default;
            var recorder = new EventRecorder(client, "kubestack-node-agent", node);
            var processor = new RequestProcessor(new KubeObjectApi(client, catalog),
                new HandlerRegistry(handlers, [new VirtualMachineCleanup(host)], [new VirtualMachineStateReader(host)]),
                catalog, new LifecycleEvents(recorder, node), new RequestRuntimeOptions { NodeName = node }, NullLogger<RequestProcessor>.Instance,
                crashAt is null ? null : new StopAt(crashAt, run));
            run._controller = new AgentController(catalog,
                kind => new KubernetesListWatcher<KubeStackResource>(client, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={node}"),
                processor,
                new AgentControllerOptions
                {
                    Workers = 2,
                    RetryBaseDelay = TimeSpan.FromMilliseconds(100),
                    RetryMaxDelay = TimeSpan.FromSeconds(1),
                    WatchMinBackoff = TimeSpan.FromMilliseconds(20),
                    WatchMaxBackoff = TimeSpan.FromMilliseconds(200),
                },
                NullLoggerFactory.Instance);
            run._run = Task.Run(() => run._controller.RunAsync(run._stop.Token));
            var deadline = DateTime.UtcNow + Timeout;
            while (!run._controller.HasSynced)
            {
                if (run._run.IsCompleted) await run._run;
                Assert.True(DateTime.UtcNow < deadline, $"The agent controller of {node} did not sync in time.");
                await Task.Delay(10);
            }

            return run;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
            }

            _controller.Dispose();
            _stop.Dispose();
        }

        /// <summary>At the crash point the whole agent stops and the worker ends without writing more (as if the process died).</summary>
        private sealed class StopAt(string point, AgentRun run) : ICrashInjector
        {
            public void At(string reached)
            {
                if (reached != point) return;
                run._stop.Cancel();
                run.Crashed.TrySetResult();
                throw new OperationCanceledException(run._stop.Token);
            }
        }
    }
}
