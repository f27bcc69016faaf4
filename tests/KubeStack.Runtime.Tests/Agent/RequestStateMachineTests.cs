using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace KubeStack.Runtime.Tests.Agent;

public sealed class RequestStateMachineTests
{
    private const string Node = "node1";
    private readonly FakeObjectApi _api = new();
    private readonly RecordingEvents _events = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero));

    private RequestProcessor Processor(ILifecycleHandler[] handlers, ICrashInjector? crash = null, IObjectCleanup[]? cleanups = null,
        int maxAttempts = 5) =>
        new(_api, new HandlerRegistry(handlers, cleanups), CatalogLoader.Default, new LifecycleEvents(_events, Node),
            new RequestRuntimeOptions { NodeName = Node, MaxAttempts = maxAttempts }, NullLogger<RequestProcessor>.Instance, crash, _time);

    private static ResourceKey KeyOf(KubeStackResource obj) => new(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);

    private ResourceKey Submit(string kind, string name, string op, JsonObject? parameters = null, string? eventId = "ev-1",
        string host = Node, Action<KubeStackResource>? extra = null)
    {
        var obj = TestObjects.New(kind, name, op, parameters, eventId, host);
        extra?.Invoke(obj);
        return KeyOf(_api.Create(obj));
    }

    private static void SetLifecycle(KubeStackResource obj, string op, JsonObject? parameters = null) =>
        obj.Spec.Lifecycle = new JsonObject { [op] = parameters ?? [] };

    [Fact]
    public async Task A_new_request_is_claimed_run_and_recorded_Succeeded_with_lifecycle_removed_in_three_writes()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "resizeDisk");
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", new JsonObject { ["size"] = "20G" });

        var result = await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(WorkResult.Done, result);
        Assert.Equal(1, handler.Calls);
        Assert.Equal(3, _api.Writes);
        Assert.Null(obj.Spec.Lifecycle);
        var record = obj.Status!.Lifecycle!;
        Assert.Equal(("resizeDisk", RequestPhase.Succeeded, "Succeeded", 1, 1L), (record.Key, record.Phase, record.Reason, record.Attempts, record.Generation));
        Assert.Equal("ev-1", record.EventId);
        Assert.NotNull(record.StartTime);
        Assert.NotNull(record.CompletionTime);
        Assert.Equal(1L, obj.Status.ObservedGeneration);
        Assert.Equal(Node, obj.Status.NodeName);
        var ready = Assert.Single(obj.Status.Conditions!);
        Assert.Equal(("Ready", "True", "Succeeded"), (ready.Type, ready.Status, ready.Reason));
        Assert.Equal("Success", obj.Spec.Status!.Status);
        Assert.Equal(200, obj.Spec.Status.Code);
        Assert.Equal("Succeeded", obj.Spec.Status.Conditions!.State!.Waiting!.Reason);
        Assert.Equal("qcow2", (string?)obj.Spec.Volume!["format"]);
        Assert.Equal([EventReasons.LifecycleStarted, EventReasons.LifecycleSucceeded], _events.Reasons);
        Assert.Contains("event ID ev-1", _events.Events.Last().Message, StringComparison.Ordinal);
        Assert.Equal("20G", (string?)handler.Seen.Single().Parameters["size"]);
    }

    [Fact]
    public async Task The_claim_is_stored_before_the_handler_runs()
    {
        KubeStackResource? seenByHandler = null;
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        handler.During = _ =>
        {
            seenByHandler = _api.Peek(key);
            return Task.CompletedTask;
        };

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var record = seenByHandler!.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Running, 1, 1L), (record.Phase, record.Attempts, record.Generation));
        Assert.Equal("rebootVM", seenByHandler.Spec.LifecycleKey);
        Assert.Equal("False", seenByHandler.Status.Conditions!.Single().Status);
    }

    [Fact]
    public async Task A_create_operation_adds_the_host_cleanup_finalizer_before_the_handler_runs()
    {
        IList<string>? finalizersDuringHandler = null;
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk");
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "createDisk", new JsonObject { ["pool"] = "pool1", ["capacity"] = "1073741824" });
        handler.During = _ =>
        {
            finalizersDuringHandler = _api.Peek(key)!.Metadata.Finalizers;
            return Task.CompletedTask;
        };

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal([Finalizers.HostCleanup], finalizersDuringHandler);
        Assert.Equal([Finalizers.HostCleanup], _api.Peek(key)!.Metadata.Finalizers);
        Assert.Equal(4, _api.Writes);
        Assert.Equal(RequestPhase.Succeeded, _api.Peek(key)!.Status!.Lifecycle!.Phase);
    }

    [Fact]
    public async Task After_a_crash_following_the_claim_the_request_is_resumed_as_attempt_two_and_ends_once()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");

        await Assert.ThrowsAsync<SimulatedCrashException>(() =>
            Processor([handler], new ThrowingCrashInjector(CrashPoints.AfterClaim)).ProcessAsync(key, CancellationToken.None));
        Assert.Equal(0, handler.Calls);
        Assert.Equal(RequestPhase.Running, _api.Peek(key)!.Status!.Lifecycle!.Phase);

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(1, handler.Calls);
        Assert.Equal(2, handler.Seen.Single().Attempt);
        Assert.Equal((RequestPhase.Succeeded, 2), (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Attempts));
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Single(_events.Reasons, EventReasons.LifecycleSucceeded);
    }

    [Fact]
    public async Task After_a_crash_between_host_call_and_status_the_idempotent_handler_runs_again_and_the_request_ends_once()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "resizeDisk");
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", new JsonObject { ["size"] = "20G" });

        await Assert.ThrowsAsync<SimulatedCrashException>(() =>
            Processor([handler], new ThrowingCrashInjector(CrashPoints.AfterHostCall)).ProcessAsync(key, CancellationToken.None));
        Assert.Equal(RequestPhase.Running, _api.Peek(key)!.Status!.Lifecycle!.Phase);
        Assert.NotNull(_api.Peek(key)!.Spec.Lifecycle);

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(2, handler.Calls);
        Assert.Equal([1, 2], handler.Seen.Select(c => c.Attempt));
        Assert.Equal((RequestPhase.Succeeded, 2), (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Attempts));
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Single(_events.Reasons, EventReasons.LifecycleSucceeded);
    }

    [Fact]
    public async Task After_a_crash_following_the_status_write_only_the_spec_is_patched_and_the_handler_is_not_called_again()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        await Assert.ThrowsAsync<SimulatedCrashException>(() =>
            Processor([handler], new ThrowingCrashInjector(CrashPoints.AfterStatus)).ProcessAsync(key, CancellationToken.None));
        Assert.Equal(RequestPhase.Succeeded, _api.Peek(key)!.Status!.Lifecycle!.Phase);
        Assert.NotNull(_api.Peek(key)!.Spec.Lifecycle);
        var writesBefore = _api.Writes;

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(1, handler.Calls);
        Assert.Equal(1, _api.Writes - writesBefore);
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal("Success", obj.Spec.Status!.Status);
        Assert.Equal(1, obj.Status!.Lifecycle!.Attempts);
        Assert.Single(_events.Reasons, EventReasons.LifecycleSucceeded);
    }

    [Fact]
    public async Task Processing_a_finished_request_again_writes_nothing()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        var processor = Processor([handler]);
        await processor.ProcessAsync(key, CancellationToken.None);
        var writes = _api.Writes;

        await processor.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(writes, _api.Writes);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task The_same_operation_submitted_again_later_runs_again()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        var processor = Processor([handler]);
        await processor.ProcessAsync(key, CancellationToken.None);
        var firstGeneration = _api.Peek(key)!.Status!.Lifecycle!.Generation;

        _api.Edit(key, o => SetLifecycle(o, "rebootVM"));
        await processor.ProcessAsync(key, CancellationToken.None);

        var record = _api.Peek(key)!.Status!.Lifecycle!;
        Assert.Equal(2, handler.Calls);
        Assert.True(record.Generation > firstGeneration);
        Assert.Equal((RequestPhase.Succeeded, 1), (record.Phase, record.Attempts));
        Assert.Null(_api.Peek(key)!.Spec.Lifecycle);
    }

    [Fact]
    public async Task An_operation_without_a_handler_fails_with_VirtctlError_not_implemented_in_two_writes()
    {
        var key = Submit(Kinds.VirtualMachine, "vm1", "migrateVM", new JsonObject { ["ip"] = "10.0.0.2" });

        await Processor([]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(2, _api.Writes);
        Assert.Equal((RequestPhase.Failed, ErrorClasses.VirtctlError), (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Reason));
        Assert.Equal("Operation migrateVM of VirtualMachine is not implemented on node node1 yet.", obj.Status.Lifecycle.Message);
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal(("Failure", 400, ErrorClasses.VirtctlError), (obj.Spec.Status!.Status, obj.Spec.Status.Code, obj.Spec.Status.Reason));
        Assert.Equal(ErrorClasses.VirtctlError, obj.Spec.Status.Conditions!.State!.Waiting!.Reason);
        var warning = Assert.Single(_events.Events);
        Assert.Equal(("Warning", ErrorClasses.VirtctlError), (warning.Type, warning.Reason));
        Assert.Contains("migrateVM", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operation_that_does_not_exist_for_the_kind_fails_truthfully()
    {
        var key = Submit(Kinds.VirtualMachinePool, "pool1", "rebootVM");

        await Processor([]).ProcessAsync(key, CancellationToken.None);

        var record = _api.Peek(key)!.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.VirtctlError), (record.Phase, record.Reason));
        Assert.StartsWith("Operation rebootVM does not exist for kind VirtualMachinePool", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lifecycle_with_two_keys_fails_and_is_removed()
    {
        var key = Submit(Kinds.VirtualMachine, "vm1", "startVM", extra: o => o.Spec.Lifecycle!["stopVM"] = new JsonObject());

        await Processor([new FakeHandler(Kinds.VirtualMachine, "startVM")]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(RequestPhase.Failed, obj.Status!.Lifecycle!.Phase);
        Assert.Contains("exactly one operation key; found 2 (startVM, stopVM)", obj.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Null(obj.Spec.Lifecycle);
    }

    [Fact]
    public async Task A_failed_handler_records_its_error_class_Ready_False_and_a_Warning_and_removes_the_lifecycle()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "stopVM",
            (_, _) => HandlerResult.Failed(ErrorClasses.LibvirtError, "Domain vm1 on node node1 is not running."));
        var key = Submit(Kinds.VirtualMachine, "vm1", "stopVM");

        var result = await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(WorkResult.Done, result);
        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError, "Domain vm1 on node node1 is not running."),
            (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Reason, obj.Status.Lifecycle.Message));
        Assert.Equal(("False", ErrorClasses.LibvirtError), (obj.Status.Conditions!.Single().Status, obj.Status.Conditions!.Single().Reason));
        Assert.Equal(("Failure", 500), (obj.Spec.Status!.Status, obj.Spec.Status.Code));
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal([EventReasons.LifecycleStarted, ErrorClasses.LibvirtError], _events.Reasons);
        Assert.Equal("Warning", _events.Events.Last().Type);
        Assert.Equal(3, _api.Writes);
    }

    [Fact]
    public async Task A_retryable_failure_is_retried_with_a_new_attempt_and_then_succeeds()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "startVM",
            (_, call) => call == 1 ? HandlerResult.Failed(ErrorClasses.LibvirtError, "libvirtd is restarting.", retryable: true) : HandlerResult.Succeeded(powerState: "Running"));
        var key = Submit(Kinds.VirtualMachine, "vm1", "startVM");
        var processor = Processor([handler]);

        var first = await processor.ProcessAsync(key, CancellationToken.None);
        Assert.Equal(WorkResult.Retry, first);
        Assert.Equal(RequestPhase.Running, _api.Peek(key)!.Status!.Lifecycle!.Phase);

        var second = await processor.ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(WorkResult.Done, second);
        Assert.Equal((RequestPhase.Succeeded, 2), (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Attempts));
        Assert.Equal("Running", obj.Spec.PowerState);
        Assert.Equal("Running", obj.Status.PowerState);
    }

    [Fact]
    public async Task A_retryable_failure_at_the_attempt_limit_is_recorded_as_Failed()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "startVM",
            (_, _) => HandlerResult.Failed(ErrorClasses.LibvirtError, "libvirtd is unreachable.", retryable: true));
        var key = Submit(Kinds.VirtualMachine, "vm1", "startVM");
        var processor = Processor([handler], maxAttempts: 2);

        Assert.Equal(WorkResult.Retry, await processor.ProcessAsync(key, CancellationToken.None));
        Assert.Equal(WorkResult.Done, await processor.ProcessAsync(key, CancellationToken.None));

        var record = _api.Peek(key)!.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError, 2), (record.Phase, record.Reason, record.Attempts));
    }

    [Fact]
    public async Task A_create_that_gives_up_after_retryable_failures_records_its_pool_for_the_cleanup_and_says_how_often_it_was_tried()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk",
            (_, _) => HandlerResult.Failed(ErrorClasses.LibvirtError, "Creating disk disk1 failed on node node1: libvirt says: client socket is closed.",
                retryable: true));
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "createDisk", new JsonObject { ["pool"] = "pool1", ["capacity"] = "1073741824" });
        var processor = Processor([handler], maxAttempts: 2);

        Assert.Equal(WorkResult.Retry, await processor.ProcessAsync(key, CancellationToken.None));
        Assert.Null(_api.Peek(key)!.Metadata.Annotations); // nothing recorded while the request still runs
        Assert.Equal(WorkResult.Done, await processor.ProcessAsync(key, CancellationToken.None));

        var obj = _api.Peek(key)!;
        var record = obj.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.LibvirtError, 2), (record.Phase, record.Reason, record.Attempts));
        Assert.Equal("pool1", obj.Metadata.Annotations![FailedCreate.PoolAnnotation]);
        Assert.Equal("pool1", FailedCreate.PoolOf(obj));
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Null(obj.Spec.Volume);
        Assert.Contains("createDisk failed after 2 attempts on node node1; the agent gave up.", record.Message, StringComparison.Ordinal);
        Assert.Contains("submit the request again", record.Message, StringComparison.Ordinal);
        Assert.Equal(record.Message, obj.Spec.Status!.Message);
        Assert.DoesNotContain("retries it", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_create_records_no_pool_so_the_cleanup_never_touches_a_volume_it_did_not_make()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk",
            (_, _) => HandlerResult.Failed(ErrorClasses.LibvirtError, "Disk disk1 already exists in pool pool1 on node node1."));
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "createDisk", new JsonObject { ["pool"] = "pool1", ["capacity"] = "1073741824" });

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(RequestPhase.Failed, obj.Status!.Lifecycle!.Phase);
        Assert.Null(FailedCreate.PoolOf(obj));
        Assert.Equal("Disk disk1 already exists in pool pool1 on node node1.", obj.Status.Lifecycle.Message);
    }

    [Fact]
    public async Task A_non_create_request_that_gives_up_records_no_pool()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "resizeDisk",
            (_, _) => HandlerResult.Failed(ErrorClasses.LibvirtError, "libvirtd is unreachable.", retryable: true));
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", new JsonObject { ["pool"] = "pool1", ["capacity"] = "2147483648" });

        await Processor([handler], maxAttempts: 1).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(RequestPhase.Failed, obj.Status!.Lifecycle!.Phase);
        Assert.Contains("resizeDisk failed after 1 attempt on node node1; the agent gave up.", obj.Status.Lifecycle.Message, StringComparison.Ordinal);
        Assert.Null(FailedCreate.PoolOf(obj));
    }

    [Fact]
    public async Task A_handler_exception_is_recorded_as_an_Exception_failure()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "startVM", (_, _) => throw new IOException("disk full"));
        var key = Submit(Kinds.VirtualMachine, "vm1", "startVM");

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        var record = _api.Peek(key)!.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.Exception), (record.Phase, record.Reason));
        Assert.Equal("startVM failed unexpectedly on node node1: IOException: disk full", record.Message);
    }

    [Fact]
    public async Task RequeueAfter_runs_the_handler_again_later_without_a_new_claim()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "stopVM",
            (_, call) => call == 1 ? HandlerResult.RequeueAfter(TimeSpan.FromSeconds(5), "waiting for the guest") : HandlerResult.Succeeded(powerState: "Shutoff"));
        var key = Submit(Kinds.VirtualMachine, "vm1", "stopVM");
        var processor = Processor([handler]);

        var first = await processor.ProcessAsync(key, CancellationToken.None);
        var writesAfterFirst = _api.Writes;
        var second = await processor.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(WorkResult.After(TimeSpan.FromSeconds(5)), first);
        Assert.Equal(1, writesAfterFirst);
        Assert.Equal(WorkResult.Done, second);
        Assert.Equal(3, _api.Writes);
        Assert.Equal([1, 1], handler.Seen.Select(c => c.Attempt));
        Assert.Single(_events.Reasons, EventReasons.LifecycleStarted);
    }

    [Fact]
    public async Task A_delete_operation_removes_the_finalizer_and_the_object()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "deleteDisk", (_, _) => HandlerResult.Succeeded());
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "deleteDisk", extra: o => o.Metadata.Finalizers = [Finalizers.HostCleanup]);

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.Null(_api.Peek(key));
        Assert.Equal(1, handler.Calls);
        Assert.Equal(3, _api.Writes);
        Assert.Equal([EventReasons.LifecycleStarted, EventReasons.LifecycleSucceeded], _events.Reasons);
    }

    [Fact]
    public async Task Kubectl_delete_runs_the_kind_cleanup_then_removes_the_finalizer()
    {
        var cleanup = new RecordingCleanup(Kinds.VirtualMachineDisk);
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", extra: o =>
        {
            o.Spec.Lifecycle = null;
            o.Metadata.Finalizers = [Finalizers.HostCleanup];
        });
        _api.UserDelete(key);
        Assert.NotNull(_api.Peek(key)!.Metadata.DeletionTimestamp);

        await Processor([], cleanups: [cleanup]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(1, cleanup.Calls);
        Assert.Null(_api.Peek(key));
        Assert.Equal([EventReasons.HostCleanedUp], _events.Reasons);
    }

    [Fact]
    public async Task A_failing_cleanup_keeps_the_finalizer_and_retries_with_a_Warning()
    {
        var cleanup = new RecordingCleanup(Kinds.VirtualMachineDisk, HandlerResult.Failed(ErrorClasses.LibvirtError, "The volume is in use."));
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", extra: o =>
        {
            o.Spec.Lifecycle = null;
            o.Metadata.Finalizers = [Finalizers.HostCleanup];
        });
        _api.UserDelete(key);

        var result = await Processor([], cleanups: [cleanup]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(WorkResult.Retry, result);
        Assert.Equal([Finalizers.HostCleanup], _api.Peek(key)!.Metadata.Finalizers);
        var warning = Assert.Single(_events.Events);
        Assert.Equal(("Warning", ErrorClasses.LibvirtError), (warning.Type, warning.Reason));
    }

    [Fact]
    public async Task A_new_request_submitted_while_one_runs_is_kept_and_runs_next()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "stopVM");
        var start = new FakeHandler(Kinds.VirtualMachine, "startVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "stopVM");
        handler.During = _ =>
        {
            _api.Edit(key, o => SetLifecycle(o, "startVM"));
            return Task.CompletedTask;
        };
        var processor = Processor([handler, start]);

        await processor.ProcessAsync(key, CancellationToken.None);
        var between = _api.Peek(key)!;
        Assert.Equal("startVM", between.Spec.LifecycleKey);
        Assert.Equal(("stopVM", RequestPhase.Succeeded), (between.Status!.Lifecycle!.Key, between.Status.Lifecycle.Phase));

        await processor.ProcessAsync(key, CancellationToken.None);

        var after = _api.Peek(key)!;
        Assert.Null(after.Spec.Lifecycle);
        Assert.Equal(("startVM", RequestPhase.Succeeded), (after.Status!.Lifecycle!.Key, after.Status.Lifecycle.Phase));
        Assert.Equal((1, 1), (handler.Calls, start.Calls));
    }

    [Fact]
    public async Task A_request_that_keeps_crashing_the_agent_is_failed_at_the_attempt_limit_without_running_again()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<SimulatedCrashException>(() =>
                Processor([handler], new ThrowingCrashInjector(CrashPoints.AfterHostCall), maxAttempts: 2).ProcessAsync(key, CancellationToken.None));
        }

        await Processor([handler], maxAttempts: 2).ProcessAsync(key, CancellationToken.None);

        var record = _api.Peek(key)!.Status!.Lifecycle!;
        Assert.Equal(2, handler.Calls);
        Assert.Equal((RequestPhase.Failed, ErrorClasses.Exception), (record.Phase, record.Reason));
        Assert.StartsWith("rebootVM was started 2 times on node node1 without finishing", record.Message, StringComparison.Ordinal);
        Assert.Null(_api.Peek(key)!.Spec.Lifecycle);
    }

    [Fact]
    public async Task A_conflict_on_the_status_write_is_retried_from_a_fresh_read()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM");
        _api.ConflictsOnStatus = 2;

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(RequestPhase.Succeeded, _api.Peek(key)!.Status!.Lifecycle!.Phase);
        Assert.Null(_api.Peek(key)!.Spec.Lifecycle);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Objects_labelled_for_another_node_are_left_alone()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM", host: "node2");

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal(0, _api.Writes);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task The_result_view_replaces_the_previous_one_exactly()
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "resizeDisk",
            (_, _) => HandlerResult.Succeeded(new JsonObject { ["name"] = "disk1", ["capacity"] = "20G" }));
        var key = Submit(Kinds.VirtualMachineDisk, "disk1", "resizeDisk", extra: o =>
            o.Spec.Volume = new JsonObject { ["name"] = "disk1", ["capacity"] = "10G", ["stale"] = "x" });

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.True(JsonNode.DeepEquals(new JsonObject { ["name"] = "disk1", ["capacity"] = "20G" }, _api.Peek(key)!.Spec.Volume));
    }

    [Fact]
    public async Task The_event_id_comes_from_the_new_label_or_the_older_eventId_label()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "rebootVM");
        var key = Submit(Kinds.VirtualMachine, "vm1", "rebootVM", eventId: null, extra: o => o.Metadata.Labels[Labels.LegacyEventId] = "legacy-7");

        await Processor([handler]).ProcessAsync(key, CancellationToken.None);

        Assert.Equal("legacy-7", _api.Peek(key)!.Status!.Lifecycle!.EventId);
        Assert.Equal("legacy-7", handler.Seen.Single().EventId);
    }
}

/// <summary>Builders for test objects.</summary>
internal static class TestObjects
{
    public static KubeStackResource New(string kind, string name, string? op, JsonObject? parameters = null, string? eventId = "ev-1",
        string host = "node1", string ns = "default")
    {
        var labels = new Dictionary<string, string> { [Labels.Host] = host };
        if (eventId is not null)
        {
            labels[Labels.EventId] = eventId;
        }

        return new KubeStackResource
        {
            Kind = kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
            Spec = new KubeStackSpec { Lifecycle = op is null ? null : new JsonObject { [op] = parameters ?? [] } },
        };
    }
}
