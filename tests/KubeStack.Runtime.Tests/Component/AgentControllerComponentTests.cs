using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Tests.Agent;

namespace KubeStack.Runtime.Tests.Component;

/// <summary>The agent's controller (informers, queue, state machine, real API writes) against the API emulator.</summary>
public sealed class AgentControllerComponentTests
{
    private const string Node = "node1";

    private static JsonObject CreateDiskParameters() => new()
    {
        ["type"] = "localfs",
        ["pool"] = "pool1",
        ["capacity"] = "10737418240",
        ["format"] = "qcow2",
    };

    private static bool Finished(KubeStackResource o) =>
        o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed;

    [Fact]
    public async Task A_request_on_a_fake_handler_ends_Succeeded_with_lifecycle_removed_both_views_written_and_Events_recorded()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk");
        await using var agent = new RunningController(cluster.NewController(Node, [handler]));
        await agent.WaitSyncedAsync();

        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk", CreateDiskParameters(), eventId: "ev-42"));
        var done = await cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1", Finished, "the request finishing");

        Assert.Equal(1, handler.Calls);
        Assert.Equal("pool1", (string?)handler.Seen.Single().Parameters["pool"]);
        var record = done.Status!.Lifecycle!;
        Assert.Equal(("createDisk", "ev-42", RequestPhase.Succeeded, 1), (record.Key, record.EventId, record.Phase, record.Attempts));
        Assert.Equal(record.Generation, done.Status.ObservedGeneration);
        Assert.Equal("True", done.Status.Conditions!.Single(c => c.Type == "Ready").Status);
        Assert.Equal(Node, done.Status.NodeName);
        Assert.Equal("Success", done.Spec.Status!.Status);
        Assert.Equal("qcow2", (string?)done.Spec.Volume!["format"]);
        Assert.Equal([Finalizers.HostCleanup], done.Metadata.Finalizers);
        var events = await cluster.EventsForAsync("disk1");
        Assert.Equal([EventReasons.LifecycleStarted, EventReasons.LifecycleSucceeded], events.OrderBy(e => e.FirstTimestamp).Select(e => e.Reason));
        Assert.All(events, e => Assert.Equal(("VirtualMachineDisk", "Normal", "kubestack-node-agent"), (e.InvolvedObject.Kind, e.Type, e.Source.Component)));
        Assert.Contains("event ID ev-42", events.Single(e => e.Reason == EventReasons.LifecycleSucceeded).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_handler_on_one_object_does_not_block_requests_on_other_objects()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reboot = new FakeHandler(Kinds.VirtualMachine, "rebootVM")
        {
            During = async ctx =>
            {
                if (ctx.Name == "vm-slow")
                {
                    slowStarted.TrySetResult();
                    await release.Task;
                }
            },
        };
        await using var agent = new RunningController(cluster.NewController(Node, [reboot], workers: 2));
        await agent.WaitSyncedAsync();

        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-slow", "rebootVM"));
        await slowStarted.Task.WaitAsync(EmulatedCluster.Timeout);
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-fast-1", "rebootVM"));
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-fast-2", "rebootVM"));
        await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-fast-1", Finished, "the first fast request finishing");
        await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-fast-2", Finished, "the second fast request finishing");

        var slow = await cluster.GetAsync(Kinds.VirtualMachine, "vm-slow");
        Assert.Equal(RequestPhase.Running, slow!.Status!.Lifecycle!.Phase);
        Assert.NotNull(slow.Spec.Lifecycle);

        release.SetResult();
        var done = await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-slow", Finished, "the slow request finishing");
        Assert.Equal(RequestPhase.Succeeded, done.Status!.Lifecycle!.Phase);
        Assert.Equal(3, reboot.Calls);
    }

    [Fact]
    public async Task Requests_arriving_while_the_watch_is_lost_or_the_api_server_restarts_are_still_processed()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var reboot = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        await using var agent = new RunningController(cluster.NewController(Node, [reboot]));
        await agent.WaitSyncedAsync();

        cluster.Api.Faults.DropAllWatches();
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", "rebootVM"));
        await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-1", Finished, "the request after a watch drop finishing");

        cluster.Api.Faults.Restart();
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-2", "rebootVM"));
        await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-2", Finished, "the request after an API restart finishing");

        Assert.Equal(2, reboot.Calls);
    }

    [Fact]
    public async Task Conflicts_on_status_writes_are_retried_and_the_request_still_ends_once()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var reboot = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        await using var agent = new RunningController(cluster.NewController(Node, [reboot]));
        await agent.WaitSyncedAsync();

        cluster.Api.Faults.FailNext(3, 409, "update", "virtualmachines/status");
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", "rebootVM"));
        var done = await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-1", Finished, "the request finishing");

        Assert.Equal(RequestPhase.Succeeded, done.Status!.Lifecycle!.Phase);
        Assert.Equal(1, done.Status.Lifecycle.Attempts);
        Assert.Equal(1, reboot.Calls);
    }

    [Fact]
    public async Task A_request_that_fails_on_an_api_error_is_retried_by_the_queue_and_not_lost()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var reboot = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        await using var agent = new RunningController(cluster.NewController(Node, [reboot]));
        await agent.WaitSyncedAsync();

        // The spec patch that ends the request fails twice with 500: the object is retried with backoff.
        cluster.Api.Faults.FailNext(2, 500, "patch", "virtualmachines");
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", "rebootVM"));
        var done = await cluster.WaitForAsync(Kinds.VirtualMachine, "vm-1", Finished, "the request finishing");

        Assert.Equal(RequestPhase.Succeeded, done.Status!.Lifecycle!.Phase);
        Assert.Equal(1, reboot.Calls);
        Assert.Single(await cluster.EventsForAsync("vm-1"), e => e.Reason == EventReasons.LifecycleSucceeded);
    }

    [Fact]
    public async Task Kubectl_delete_of_an_object_with_the_finalizer_runs_the_cleanup_and_lets_it_go()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var create = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk");
        var cleanup = new RecordingCleanup(Kinds.VirtualMachineDisk);
        await using var agent = new RunningController(cluster.NewController(Node, [create], [cleanup]));
        await agent.WaitSyncedAsync();
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk", CreateDiskParameters()));
        await cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1", Finished, "the create finishing");

        await cluster.DeleteAsync(Kinds.VirtualMachineDisk, "disk1");
        await cluster.WaitForGoneAsync(Kinds.VirtualMachineDisk, "disk1");

        Assert.Equal(1, cleanup.Calls);
        Assert.Contains(await cluster.EventsForAsync("disk1"), e => e.Reason == EventReasons.HostCleanedUp);
    }

    [Fact]
    public async Task A_delete_operation_deletes_the_object_after_its_handler_succeeds()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var create = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk");
        var delete = new FakeHandler(Kinds.VirtualMachineDisk, "deleteDisk", (_, _) => HandlerResult.Succeeded());
        await using var agent = new RunningController(cluster.NewController(Node, [create, delete]));
        await agent.WaitSyncedAsync();
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk", CreateDiskParameters()));
        await cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1", Finished, "the create finishing");

        await cluster.PatchSpecAsync(Kinds.VirtualMachineDisk, "disk1", new JsonObject
        {
            ["lifecycle"] = new JsonObject { ["deleteDisk"] = new JsonObject { ["type"] = "localfs", ["pool"] = "pool1" } },
        });
        await cluster.WaitForGoneAsync(Kinds.VirtualMachineDisk, "disk1");

        Assert.Equal(1, delete.Calls);
    }

    [Fact]
    public async Task The_status_helper_retries_injected_conflicts_and_writes_only_status()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var created = await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", "rebootVM"));
        var client = new ResourceClient<KubeStackResource>(cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachine));
        cluster.Api.Faults.FailNext(2, 409, "update", "virtualmachines/status");

        var update = await client.UpdateStatusAsync("default", "vm-1", o =>
        {
            o.Status = new KubeStackStatus { PowerState = "Running" };
            o.Spec.PowerState = "ignored-by-the-status-subresource";
            return true;
        }, CancellationToken.None);

        Assert.True(update.Written);
        Assert.Equal(3, update.Attempts);
        var stored = await cluster.GetAsync(Kinds.VirtualMachine, "vm-1");
        Assert.Equal("Running", stored!.Status!.PowerState);
        Assert.Null(stored.Spec.PowerState);
        Assert.Equal(created.Metadata.Generation, stored.Metadata.Generation);
    }

    [Fact]
    public async Task A_conditional_merge_patch_with_a_stale_resourceVersion_gets_409()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var created = await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", "rebootVM"));
        var client = new ResourceClient<KubeStackResource>(cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachine));
        await cluster.PatchSpecAsync(Kinds.VirtualMachine, "vm-1", new JsonObject { ["powerstate"] = "Running" });

        var ex = await Assert.ThrowsAsync<KubeApiException>(() => client.PatchAsync("default", "vm-1", new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = created.Metadata.ResourceVersion },
            ["spec"] = new JsonObject { ["lifecycle"] = null },
        }, CancellationToken.None));

        Assert.True(ex.IsConflict);
        Assert.NotNull((await cluster.GetAsync(Kinds.VirtualMachine, "vm-1"))!.Spec.Lifecycle);
    }

    [Fact]
    public async Task Repeated_identical_events_are_aggregated_into_one_with_a_count()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var vm = await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-1", null));
        var recorder = new EventRecorder(cluster.Client, "kubestack-node-agent", Node);

        await recorder.RecordAsync(vm, EventTypes.Warning, ErrorClasses.VirtletError, "Domain vm-1 was destroyed outside Kubernetes.", CancellationToken.None);
        await recorder.RecordAsync(vm, EventTypes.Warning, ErrorClasses.VirtletError, "Domain vm-1 was destroyed outside Kubernetes.", CancellationToken.None);

        var evt = Assert.Single(await cluster.EventsForAsync("vm-1"));
        Assert.Equal(2, evt.Count);
        Assert.Equal(vm.Metadata.Uid, evt.InvolvedObject.Uid);
        Assert.Equal(Node, evt.ReportingInstance);
    }
}
