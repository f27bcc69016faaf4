using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeStack.Contracts.Resources;

namespace KubeStack.Benchmarks;

/// <summary>
/// The operator's footprint: the real operator process (<c>dotnet KubeStack.Operator.dll</c>, webhook serving on loopback,
/// leader election on) on its own API emulator, idle, then placing <c>count</c> new VirtualMachine requests the way a
/// client sends them (lifecycle key + event ID, no host label) while the real agent runs them on the test driver: RSS idle, with the
/// objects, peak, CPU seconds, and the time until every request is terminal with the operator in the path. The VMs exist
/// on the node first (status.nodeName), as for any non-create request.
/// </summary>
internal sealed class OperatorBench(int count, string operatorDll, string agent, int agentWorkers, string workDir, TextWriter log)
{
    private const string Node = "bench-operator";
    private const string LeaderNamespace = "kubestack-system";

    public async Task<OperatorResult> RunAsync(string driverUri, Func<int, string> domainName)
    {
        await using var cluster = await BenchCluster.StartAsync(workDir);
        await cluster.Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = LeaderNamespace } });
        var result = new OperatorResult { Count = count };
        using var op = BenchProcess.Start(operatorDll,
            ["--kubeconfig", cluster.Kubeconfig, "--webhook-dev-cert", "true", "--webhook-address", "127.0.0.1", "--webhook-port", "0",
             "--leader-namespace", LeaderNamespace, "--identity", "operator-bench"],
            Path.Combine(workDir, "operator-scale.log"));
        await op.WaitForLogAsync("Request controller synced", TimeSpan.FromMinutes(3));
        result.StartupMs = Stopwatch.GetElapsedTime(op.Started).TotalMilliseconds;
        await Task.Delay(TimeSpan.FromSeconds(3)); // settle (JIT, GC) before reading the idle RSS
        result.IdleRssMb = ProcStat.RssMb(op.Pid);
        log.WriteLine($"  operator leader and synced in {result.StartupMs:F0} ms, idle RSS {result.IdleRssMb:F1} MB");

        using var agentProcess = AgentProcess.Start(agent, agentWorkers, Node, cluster.Kubeconfig, driverUri, Path.Combine(workDir, "agent-operator.log"));
        await AwaitAgentLeaseAsync(cluster.Client, TimeSpan.FromMinutes(3));

        // The VMs exist on the node (created earlier: status.nodeName is the owner); then each gets a request, as a client sends it.
        await ForEachAsync(i => CreateOwnedVmAsync(cluster.Client, domainName(i)));
        var cpuBefore = ProcStat.CpuSeconds(op.Pid);
        var start = Stopwatch.GetTimestamp();
        await ForEachAsync(i => RequestAsync(cluster.Client, domainName(i), $"op-{i}"));
        (result.Succeeded, result.Terminal) = await AwaitTerminalAsync(cluster.Client, TimeSpan.FromMinutes(10));
        result.WallSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        result.CpuSecondsBatch = ProcStat.CpuSeconds(op.Pid) - cpuBefore;
        result.RssWithObjectsMb = ProcStat.RssMb(op.Pid);
        result.PeakRssMb = ProcStat.PeakRssMb(op.Pid);
        result.CpuSecondsTotal = ProcStat.CpuSeconds(op.Pid);
        log.WriteLine($"  operator: {result.Terminal}/{count} requests terminal ({result.Succeeded} Succeeded) in {result.WallSeconds:F1} s, "
            + $"RSS {result.RssWithObjectsMb:F1} MB, peak {result.PeakRssMb:F1} MB, CPU {result.CpuSecondsBatch:F1} s");
        return result;
    }

    private async Task ForEachAsync(Func<int, Task> write)
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                await write(i);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>A VM that exists on the node: no host label, no request, status.nodeName set (what the operator calls the owner).</summary>
    private static async Task CreateOwnedVmAsync(Kubernetes client, string name)
    {
        var r = BenchCluster.Resource(Kinds.VirtualMachine);
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new KubeStackSpec { NodeName = Node },
        };
        await client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(obj, r.Group, r.Version, "default", r.Plural);
        var status = new JsonObject { ["status"] = new JsonObject { ["nodeName"] = Node } };
        await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<KubeStackResource>(
            new V1Patch(status.ToJsonString(), V1Patch.PatchType.MergePatch), r.Group, r.Version, "default", r.Plural, name);
    }

    /// <summary>What a client writes: the lifecycle key and a new event ID, no host label (the operator adds it).</summary>
    private static Task<KubeStackResource> RequestAsync(Kubernetes client, string name, string eventId)
    {
        var r = BenchCluster.Resource(Kinds.VirtualMachine);
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = eventId } },
            ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["suspendVM"] = new JsonObject() } },
        };
        return client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), r.Group, r.Version, "default", r.Plural, name);
    }

    /// <summary>The operator places requests only on a node whose agent renews its Lease.</summary>
    private static async Task AwaitAgentLeaseAsync(Kubernetes client, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                await client.CoordinationV1.ReadNamespacedLeaseAsync($"kubestack-agent-{Node}", "kube-node-lease");
                return;
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Lists the VMs once a second until every request (event ID op-N) is terminal with spec.lifecycle removed.</summary>
    private async Task<(int Succeeded, int Terminal)> AwaitTerminalAsync(Kubernetes client, TimeSpan timeout)
    {
        var r = BenchCluster.Resource(Kinds.VirtualMachine);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync(r.Group, r.Version, "default", r.Plural);
            var items = list.GetProperty("items").EnumerateArray().Select(i => KubernetesJson.Deserialize<KubeStackResource>(i.GetRawText())).ToList();
            var terminal = items.Where(o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { } rec
                && o.Metadata.Labels?.TryGetValue(Labels.EventId, out var eventId) == true && rec.EventId == eventId
                && rec.Phase is RequestPhase.Succeeded or RequestPhase.Failed).ToList();
            if (terminal.Count >= count || Stopwatch.GetTimestamp() > deadline)
            {
                return (terminal.Count(o => o.Status!.Lifecycle!.Phase == RequestPhase.Succeeded), terminal.Count);
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }
}

internal sealed class OperatorResult
{
    public int Count { get; init; }
    public double StartupMs { get; set; }
    public double IdleRssMb { get; set; }
    public double RssWithObjectsMb { get; set; }
    public double PeakRssMb { get; set; }
    public double CpuSecondsBatch { get; set; }
    public double CpuSecondsTotal { get; set; }
    public double WallSeconds { get; set; }
    public int Succeeded { get; set; }
    public int Terminal { get; set; }
}
