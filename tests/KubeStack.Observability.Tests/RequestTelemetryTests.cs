using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Observability;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Operator.Observability;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace KubeStack.Observability.Tests;

/// <summary>
/// One request through the real operator (webhook + controller) and the real agent (libvirt test:///default driver):
/// one trace from admission to status write (in-memory exporter), its trace ID in the request's Events, and the
/// documented series on both /metrics endpoints.
/// </summary>
[Collection(HostsCollection.Name)]
public sealed class RequestTelemetryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_request_is_one_trace_from_admission_to_status_write_and_is_counted_on_both_metrics_endpoints()
    {
        var spans = new LockedList<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(OperatorTelemetry.SourceName, RequestProcessor.ActivitySource.Name, LibvirtTelemetry.SourceName)
            .AddInMemoryExporter(spans)
            .Build();
        await using var stack = await Stack.StartAsync();
        var operatorPort = Repo.FreePort();
        var agentPort = Repo.FreePort();
        const string node = "obs-node-1";
        await stack.StartOperatorAsync(operatorPort);
        await stack.StartAgentAsync(node, "test:///default", agentPort);

        // test:///default has one running domain, "test": startVM on it is refused by libvirt's state (a real host call).
        var vm = new JsonObject
        {
            ["apiVersion"] = KubeStackResource.GroupVersion,
            ["kind"] = Kinds.VirtualMachine,
            ["metadata"] = new JsonObject
            {
                ["name"] = "test",
                ["namespace"] = "default",
                // no host label: the agent sees the request only once the operator placed it (label + traceparent annotation)
                ["labels"] = new JsonObject { [Labels.EventId] = "obs-ev-1" },
            },
            ["spec"] = new JsonObject(),
        };
        await stack.Client.CustomObjects.CreateNamespacedCustomObjectAsync(vm, "doslab.io", "v1", "default", "virtualmachines");
        // the VM is known on the node (as after its create): the webhook lets startVM through
        var owner = new JsonObject { ["status"] = new JsonObject { ["nodeName"] = node } };
        await stack.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch(owner.ToJsonString(), V1Patch.PatchType.MergePatch),
            "doslab.io", "v1", "default", "virtualmachines", "test");
        var patch = new JsonObject { ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["startVM"] = new JsonObject() } } };
        await stack.Client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch),
            "doslab.io", "v1", "default", "virtualmachines", "test");

        var done = await Eventually.GetAsync(async () =>
        {
            var obj = await stack.Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>("doslab.io", "v1", "default", "virtualmachines", "test");
            return obj.Status?.Lifecycle is { Phase: RequestPhase.Succeeded or RequestPhase.Failed } && obj.Spec.Lifecycle is null ? obj : null;
        }, "the startVM request to end", Timeout);
        Assert.Equal("startVM", done.Status!.Lifecycle!.Key);

        // one trace: webhook (admission) -> operator (route) -> agent (lifecycle) -> libvirt call -> status write
        var lifecycle = await Eventually.GetAsync(() => Task.FromResult(Snapshot(spans).FirstOrDefault(s => s.DisplayName == "lifecycle startVM")),
            "the agent's request span to end", Timeout);
        var trace = Snapshot(spans).Where(s => s.TraceId == lifecycle.TraceId).ToList();
        var admission = Assert.Single(trace, s => s.DisplayName == "admission startVM");
        Assert.Equal(ActivityKind.Server, admission.Kind);
        Assert.Equal("allowed", admission.GetTagItem("kubestack.admission"));
        var route = Assert.Single(trace, s => s.DisplayName == "route startVM");
        Assert.Equal(node, route.GetTagItem("kubestack.node"));
        Assert.Equal(route.SpanId, lifecycle.ParentSpanId); // continued from the doslab.io/traceparent annotation the operator wrote
        Assert.Equal(admission.ParentSpanId, route.ParentSpanId); // both children of the request's derived root
        var libvirt = trace.Where(s => s.Source.Name == LibvirtTelemetry.SourceName).ToList();
        Assert.NotEmpty(libvirt);
        Assert.All(libvirt, s => Assert.Equal(lifecycle.SpanId, s.ParentSpanId));
        Assert.Contains(libvirt, s => s.DisplayName.StartsWith("libvirt vir", StringComparison.Ordinal));
        var write = Assert.Single(trace, s => s.DisplayName == "status write");
        Assert.Equal(lifecycle.SpanId, write.ParentSpanId);
        Assert.Equal("test", lifecycle.GetTagItem("kubestack.name"));

        // the trace ID is in the request's Events
        var events = await stack.Client.CoreV1.ListNamespacedEventAsync("default");
        var started = Assert.Single(events.Items, e => e.InvolvedObject?.Name == "test" && e.Reason == "LifecycleStarted");
        Assert.Contains($"trace {lifecycle.TraceId.ToHexString()}", started.Message, StringComparison.Ordinal);

        // the agent's /metrics
        var result = done.Status.Lifecycle.Phase == RequestPhase.Succeeded ? "succeeded" : "failed";
        var agent = await Eventually.GetAsync(async () =>
        {
            var s = await Scrape.GetAsync(agentPort);
            return s.Series("kubestack_agent_libvirt_connected", ("node", node)).Any(x => x.Value == 1) ? s : null;
        }, "the agent's libvirt connection gauge to read 1", Timeout);
        var requests = Assert.Single(agent.Series("kubestack_agent_requests_total", ("kind", "VirtualMachine"), ("operation", "startVM"), ("result", result)));
        Assert.Equal(1, requests.Value);
        Assert.Equal(result == "failed" ? done.Status.Lifecycle.Reason : "", requests.Labels["error_class"]);
        Assert.Equal(1, Assert.Single(agent.Series("kubestack_agent_request_duration_seconds_count", ("operation", "startVM"))).Value);
        Assert.Equal(0, Assert.Single(agent.Series("kubestack_agent_requests_in_flight", ("operation", "startVM"))).Value);
        Assert.Equal(1, Assert.Single(agent.Series("kubestack_agent_up")).Value);
        Assert.Contains(agent.Samples, s => s.Name == "kubestack_queue_adds_total");
        Assert.Contains(agent.Samples, s => s.Name == "kubestack_queue_wait_duration_seconds_bucket");

        // the operator's /metrics
        var op = await Eventually.GetAsync(async () =>
        {
            var s = await Scrape.GetAsync(operatorPort);
            return s.Series("kubestack_operator_leader").Any(x => x.Value == 1) ? s : null;
        }, "the operator to report itself leader", Timeout);
        Assert.Equal(1, Assert.Single(op.Series("kubestack_operator_admissions_total", ("kind", "VirtualMachine"), ("operation", "startVM"), ("result", "allowed"))).Value);
        Assert.Equal(1, Assert.Single(op.Series("kubestack_operator_routing_decisions_total", ("kind", "VirtualMachine"), ("operation", "startVM"), ("decision", "accepted"))).Value);
    }

    private static List<Activity> Snapshot(LockedList<Activity> spans) => spans.Snapshot();
}

/// <summary>A collection the in-memory exporter can add to from any thread.</summary>
internal sealed class LockedList<T> : ICollection<T>
{
    private readonly List<T> _items = [];

    public int Count { get { lock (_items) return _items.Count; } }
    public bool IsReadOnly => false;
    public void Add(T item) { lock (_items) _items.Add(item); }
    public void Clear() { lock (_items) _items.Clear(); }
    public bool Contains(T item) { lock (_items) return _items.Contains(item); }
    public void CopyTo(T[] array, int arrayIndex) { lock (_items) _items.CopyTo(array, arrayIndex); }
    public bool Remove(T item) { lock (_items) return _items.Remove(item); }
    public List<T> Snapshot() { lock (_items) return [.. _items]; }
    public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
