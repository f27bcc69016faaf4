using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Operator.Controllers;
using KubeStack.Operator.Routing;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Operator.Tests;

/// <summary>The request controller against the emulator with several fake nodes (agent Leases reporting capacity).</summary>
public sealed class RoutingTests : IAsyncLifetime
{
    private Cluster _cluster = null!;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _cluster = await Cluster.StartAsync();
    }

    private void StartController(TimeSpan? nodeTimeout = null)
    {
        var controller = RequestController.Create(_cluster.Client, CatalogLoader.Default,
            new LeaseNodeDirectory(_cluster.Client, AgentLeases.DefaultNamespace, TimeSpan.Zero, NullLogger.Instance),
            new EventRecorder(_cluster.Client, RequestController.Component, "test"),
            new RequestControllerOptions { NodeTimeout = nodeTimeout ?? TimeSpan.FromSeconds(40), LivenessCheckPeriod = TimeSpan.FromMilliseconds(200) },
            NullLoggerFactory.Instance);
        _run = controller.RunAsync(_stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        await _cluster.DisposeAsync();
    }

    private static JsonObject CreatePool(string name) => CatalogRequests.Spec("createPool", new JsonObject
    {
        ["type"] = "dir",
        ["content"] = "vmd",
        ["url"] = $"/var/lib/libvirt/pools/{name}",
    });

    private static string? Host(KubeStackResource o) => o.Metadata.Labels is { } l && l.TryGetValue(Labels.Host, out var h) ? h : null;

    [Fact]
    public async Task A_create_without_a_node_goes_to_the_live_node_with_most_free_memory()
    {
        await _cluster.HeartbeatAsync("node-a", freeMemory: 2L << 30, freeCpuMillis: 4000);
        await _cluster.HeartbeatAsync("node-b", freeMemory: 8L << 30, freeCpuMillis: 1000);
        await _cluster.HeartbeatAsync("node-c", freeMemory: 64L << 30, freeCpuMillis: 8000, age: TimeSpan.FromMinutes(5)); // gone
        StartController();
        await _cluster.CreateAsync(Kinds.VirtualMachinePool, "pool1", CreatePool("pool1"));
        var accepted = await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Phase == RequestPhase.Accepted && Host(o) is not null, "accept");
        Assert.Equal("node-b", Host(accepted));
        Assert.Equal("node-b", accepted.Status!.NodeName);
        Assert.Equal("createPool", accepted.Status.Lifecycle!.Key);
        Assert.Equal(0, accepted.Status.Lifecycle.Attempts);
        Assert.Equal(accepted.Metadata.Generation, accepted.Status.Lifecycle.Generation);
        Assert.Equal("True", accepted.Status.Conditions!.Single(c => c.Type == ConditionTypes.NodeReachable).Status);
        Assert.NotNull(accepted.Spec.Lifecycle); // the agent removes it when the request ends
    }

    [Fact]
    public async Task A_disk_goes_to_the_node_of_its_pool_and_spec_nodeName_wins_for_creates()
    {
        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000);
        await _cluster.HeartbeatAsync("node-b", 8L << 30, 1000);
        await _cluster.CreateExistingAsync(Kinds.VirtualMachinePool, "pool-on-a", "node-a");
        StartController();
        var disk = CatalogRequests.Spec("createDisk", new JsonObject { ["type"] = "localfs", ["pool"] = "pool-on-a", ["capacity"] = "1073741824", ["format"] = "qcow2" });
        await _cluster.CreateAsync(Kinds.VirtualMachineDisk, "disk1", disk);
        var accepted = await _cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1", o => Host(o) is not null, "label");
        Assert.Equal("node-a", Host(accepted));

        // spec.nodeName names another node than the pool's: a dependency on another node.
        var elsewhere = (JsonObject)disk.DeepClone();
        elsewhere["nodeName"] = "node-b";
        await _cluster.CreateAsync(Kinds.VirtualMachineDisk, "disk2", elsewhere);
        var failed = await _cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk2", o => o.Status?.Lifecycle?.Phase == RequestPhase.Failed && o.Spec.Lifecycle is null, "fail");
        Assert.Equal("DependencyOnOtherNode", failed.Status!.Lifecycle!.Reason);
        Assert.Equal("VirtualMachineDisk 'disk2': parameter 'pool' of operation 'createDisk' names VirtualMachinePool 'pool-on-a', which is on node node-a, but the request runs on node node-b; both must be on the same node.", failed.Status.Lifecycle.Message);
        Assert.Equal("Failure", failed.Spec.Status!.Status);
        Assert.Null(Host(failed));
    }

    [Fact]
    public async Task A_create_that_no_node_fits_fails_with_a_clear_reason_and_a_warning_event()
    {
        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000, age: TimeSpan.FromMinutes(10));
        StartController();
        await _cluster.CreateAsync(Kinds.VirtualMachinePool, "pool1", CreatePool("pool1"));
        var failed = await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Phase == RequestPhase.Failed && o.Spec.Lifecycle is null, "fail");
        Assert.Equal(ProblemReasonsUnschedulable, failed.Status!.Lifecycle!.Reason);
        Assert.Equal("VirtualMachinePool 'pool1': createPool cannot be placed: no node has a live KubeStack agent (the Leases of node-a are older than 40s).", failed.Status.Lifecycle.Message);
        var events = await _cluster.EventsAsync("pool1");
        Assert.Contains(events, e => e.Type == "Warning" && e.Reason == ProblemReasonsUnschedulable && e.Message!.Contains("createPool cannot be placed", StringComparison.Ordinal));
    }

    private const string ProblemReasonsUnschedulable = "Unschedulable";

    [Fact]
    public async Task An_invalid_request_that_bypassed_the_webhook_fails_with_IllegalFormat()
    {
        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000);
        StartController();
        await _cluster.CreateAsync(Kinds.VirtualMachinePool, "pool1", CatalogRequests.Spec("createPool", new JsonObject { ["type"] = "dir", ["content"] = "vmd", ["url"] = "/var/lib/libvirt/pools/p", ["colour"] = "blue" }));
        var failed = await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Phase == RequestPhase.Failed, "fail");
        Assert.Equal("IllegalFormat", failed.Status!.Lifecycle!.Reason);
        Assert.Contains("parameter 'colour' is not documented for operation 'createPool'", failed.Status.Lifecycle.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accepted_requests_of_a_node_whose_agent_went_silent_say_NodeUnreachable_and_stay_on_it()
    {
        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000);
        StartController(nodeTimeout: TimeSpan.FromSeconds(3));
        await _cluster.CreateAsync(Kinds.VirtualMachinePool, "pool1", CreatePool("pool1"));
        await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Phase == RequestPhase.Accepted, "accept");
        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000, age: TimeSpan.FromSeconds(30)); // the agent stops renewing
        var stuck = await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Reason == "NodeUnreachable", "NodeUnreachable");
        var condition = stuck.Status!.Conditions!.Single(c => c.Type == ConditionTypes.NodeReachable);
        Assert.Equal("False", condition.Status);
        Assert.Equal("NodeUnreachable", condition.Reason);
        Assert.StartsWith("The KubeStack agent on node node-a has not renewed its Lease for ", condition.Message, StringComparison.Ordinal);
        Assert.Equal(RequestPhase.Accepted, stuck.Status.Lifecycle!.Phase);
        Assert.Equal("node-a", Host(stuck)); // not rerouted

        await _cluster.HeartbeatAsync("node-a", 2L << 30, 1000); // back
        var back = await _cluster.WaitForAsync(Kinds.VirtualMachinePool, "pool1", o => o.Status?.Lifecycle?.Reason == "Accepted", "reachable again");
        Assert.Equal("True", back.Status!.Conditions!.Single(c => c.Type == ConditionTypes.NodeReachable).Status);
    }

    [Fact]
    public void The_scheduler_prefers_free_memory_then_cpu_and_skips_nodes_that_do_not_fit()
    {
        var now = DateTimeOffset.UtcNow;
        var pools = new HashSet<string>();
        NodeInfo Node(string n, long mem, long cpu) => new(n, now, mem, cpu, pools);
        var nodes = new[] { Node("a", 4L << 30, 100), Node("b", 4L << 30, 900), Node("c", 1L << 30, 8000) };
        Assert.Equal("b", Scheduler.Choose(nodes, new PlacementNeeds(), now, TimeSpan.FromSeconds(40)).Node);
        Assert.Equal("b", Scheduler.Choose(nodes, new PlacementNeeds(MemoryBytes: 2L << 30), now, TimeSpan.FromSeconds(40)).Node);
        var none = Scheduler.Choose(nodes, new PlacementNeeds(MemoryBytes: 16L << 30), now, TimeSpan.FromSeconds(40));
        Assert.False(none.Placed);
        Assert.Equal($"no live node has {16L << 30} bytes of free memory (the most any reports is {4L << 30})", none.Reason);
    }
}
