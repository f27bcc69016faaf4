using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Runtime.Testing;
using KubeStack.NodeAgent.Status;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KubeStack.Runtime.Tests.Agent;

public sealed class AgentPiecesTests
{
    private static KubeStackResource Vm(long generation, string? rv = "1", Action<V1ObjectMeta>? meta = null)
    {
        var obj = TestObjects.New(Kinds.VirtualMachine, "vm1", "rebootVM");
        obj.Metadata.Generation = generation;
        obj.Metadata.ResourceVersion = rv;
        meta?.Invoke(obj.Metadata);
        return obj;
    }

    [Fact]
    public void Status_only_changes_are_not_enqueued_but_spec_deletion_finalizer_and_label_changes_are()
    {
        var old = Vm(3, "10");
        var statusOnly = Vm(3, "11");
        statusOnly.Status = new KubeStackStatus { PowerState = "Running" };

        Assert.False(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Modified, statusOnly, old)));
        Assert.True(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Modified, Vm(4, "12"), old)));
        Assert.True(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Modified,
            Vm(3, "13", m => m.DeletionTimestamp = DateTime.UtcNow), old)));
        Assert.True(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Modified,
            Vm(3, "14", m => m.Finalizers = [Finalizers.HostCleanup]), old)));
        Assert.True(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Modified,
            Vm(3, "15", m => m.Labels[Labels.EventId] = "ev-2"), old)));
        Assert.True(AgentController.ShouldEnqueue(new InformerEvent<KubeStackResource>(InformerEventType.Added, old, null)));
    }

    [Fact]
    public void The_spec_patch_is_conditional_replaces_the_view_and_keeps_a_newer_request_when_told()
    {
        var obj = TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk");
        obj.Metadata.ResourceVersion = "42";
        obj.Spec.Volume = new JsonObject { ["old"] = "x" };
        var outcome = RequestOutcome.Success("createDisk succeeded on node node1.", new JsonObject { ["name"] = "disk1" });

        var removing = SeedView.BuildSpecPatch(obj, outcome, "volume", removeLifecycle: true);
        var keeping = SeedView.BuildSpecPatch(obj, outcome, "volume", removeLifecycle: false, finalizers: [Finalizers.HostCleanup]);

        Assert.Equal("42", (string?)removing["metadata"]!["resourceVersion"]);
        Assert.True(removing["spec"]!.AsObject().ContainsKey("lifecycle"));
        Assert.Null(removing["spec"]!["lifecycle"]);
        Assert.Null(removing["spec"]!["volume"]!["old"]);
        Assert.Equal("disk1", (string?)removing["spec"]!["volume"]!["name"]);
        Assert.Equal("Success", (string?)removing["spec"]!["status"]!["status"]);
        Assert.False(keeping["spec"]!.AsObject().ContainsKey("lifecycle"));
        Assert.Equal("""["doslab.io/host-cleanup"]""", keeping["metadata"]!["finalizers"]!.ToJsonString());
    }

    [Fact]
    public void Conditions_keep_their_transition_time_until_their_status_changes()
    {
        var status = new KubeStackStatus();
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        RequestRecords.SetCondition(status, "Ready", "False", "Running", "a", 1, t0);
        RequestRecords.SetCondition(status, "Ready", "False", "LibvirtError", "b", 1, t0.AddMinutes(1));
        Assert.Equal(t0, status.Conditions!.Single().LastTransitionTime);

        RequestRecords.SetCondition(status, "Ready", "True", "Succeeded", "c", 2, t0.AddMinutes(2));

        var ready = status.Conditions!.Single();
        Assert.Equal((t0.AddMinutes(2), "True", "Succeeded", 2L), (ready.LastTransitionTime, ready.Status, ready.Reason, ready.ObservedGeneration));
    }

    [Fact]
    public void Status_messages_are_bounded()
    {
        var message = RequestRecords.Bound(new string('x', 5000));

        Assert.Equal(RequestRecords.MaxMessageLength, message.Length);
        Assert.EndsWith("...", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_options_come_from_switches_or_environment_and_bad_values_name_the_setting()
    {
        var options = AgentOptions.FromConfiguration(Config(("node", "n1"), ("KUBESTACK_DOMAIN_TYPE", "qemu"), ("KUBESTACK_WORKERS", "2"),
            ("KUBESTACK_LOG_FORMAT", "json")));
        Assert.Equal(("n1", DomainType.Qemu, 2, true), (options.NodeName, options.DomainType, options.Workers, options.JsonLogs));
        Assert.Equal("n2", AgentOptions.FromConfiguration(Config(("NODE_NAME", "n2"))).NodeName);
        Assert.Equal("n3", AgentOptions.FromConfiguration(Config(("node", "n3"), ("NODE_NAME", "n2"))).NodeName);

        Assert.Contains("--node", Assert.Throws<ArgumentException>(() => AgentOptions.FromConfiguration(Config())).Message, StringComparison.Ordinal);
        Assert.Contains("kvm or qemu", Assert.Throws<ArgumentException>(() =>
            AgentOptions.FromConfiguration(Config(("node", "n1"), ("domain-type", "xen")))).Message, StringComparison.Ordinal);
        Assert.Contains("--workers / KUBESTACK_WORKERS must be an integer from 1 to 64", Assert.Throws<ArgumentException>(() =>
            AgentOptions.FromConfiguration(Config(("node", "n1"), ("workers", "0")))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_handlers_for_one_operation_are_refused_at_start()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new HandlerRegistry(
            [new FakeHandler(Kinds.VirtualMachine, "startVM"), new FakeHandler(Kinds.VirtualMachine, "startVM")]));

        Assert.Contains("VirtualMachine.startVM", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_handlers_replace_the_real_handlers_of_the_operations_they_serve_only()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILifecycleHandler>(new FakeHandler(Kinds.VirtualMachineDisk, "createDisk"));
        services.AddSingleton<ILifecycleHandler>(new FakeHandler(Kinds.VirtualMachine, "startVM"));
        var settings = new TestHandlerSettings { Operations = [(Kinds.VirtualMachineDisk, "createDisk")], StateDir = Path.GetTempPath() };

        var registry = HandlerRegistration.BuildRegistry(services.BuildServiceProvider(), settings);

        Assert.IsType<RecordingTestHandler>(registry.Find(Kinds.VirtualMachineDisk, "createDisk"));
        Assert.IsType<FakeHandler>(registry.Find(Kinds.VirtualMachine, "startVM"));
        Assert.IsType<RecordingTestCleanup>(registry.Cleanup(Kinds.VirtualMachineDisk));
        Assert.IsType<RecordingTestReader>(registry.Reader(Kinds.VirtualMachineDisk));
    }

    [Fact]
    public void The_assembly_scan_skips_the_test_doubles()
    {
        var types = HandlerRegistration.HandlerTypes(typeof(AgentHost).Assembly).ToList();

        Assert.DoesNotContain(typeof(RecordingTestHandler), types);
        Assert.DoesNotContain(typeof(RecordingTestCleanup), types);
    }

    [Fact]
    public void An_unknown_crash_point_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new EnvironmentCrashInjector("after-lunch"));

        Assert.Contains("after-claim, after-host-call, after-status, after-spec", ex.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
