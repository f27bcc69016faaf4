using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using k8s;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Hosting;

namespace KubeStack.Benchmarks;

/// <summary>
/// create-disk and delete-disk latency on the lab (qemu:///system; a dir pool under /mnt/localfs): (a) virStorageVolCreateXML /
/// virStorageVolDelete through our binding, (b) <c>virsh vol-create-as</c> / <c>vol-delete</c>, (c) createDisk / deleteDisk end to
/// end (VirtualMachineDisk written → Succeeded, resp. the object gone, seen by a watching client). 1 GiB qcow2 volumes.
/// </summary>
internal sealed class DiskLatencyBench(int reps, string workDir, TextWriter log)
{
    public static readonly string[] Operations = ["create-disk", "delete-disk"];
    private const long Capacity = 1_073_741_824;
    private const string Uri = "qemu:///system";

    private readonly Dictionary<(string Op, string Way), List<double>> _samples = [];
    private readonly string _prefix = $"kst-bench-{Guid.NewGuid().ToString("N")[..6]}";

    public async Task<LatencyResult> RunAsync()
    {
        log.WriteLine($"disk latency on the lab: {reps} repetitions");
        var poolName = _prefix + "-pool";
        var poolPath = $"/mnt/localfs/{poolName}";
        using var conn = LibvirtConnection.Open(Uri);
        using var pool = conn.StoragePoolDefineXml(
            $"<pool type='dir'><name>{poolName}</name><target><path>{poolPath}</path></target></pool>");
        try
        {
            pool.Build();
            pool.Create();
            Direct(pool);
            await VirshAsync(poolName);
            await EndToEndAsync(poolName);
        }
        finally
        {
            pool.Destroy();
            pool.Delete();
            pool.Undefine();
        }

        return new LatencyResult("lab qemu:///system: disks (1 GiB qcow2, dir pool)", reps,
            _samples.ToDictionary(kv => $"{kv.Key.Op}/{kv.Key.Way}", kv => Summary.Of(kv.Value)!),
            ["create-disk e2e includes the handler's probes (pool lookup, volume lookup) and `qemu-img info` of the new volume for the view; "
                + "delete-disk e2e ends when the object is gone (the agent deletes it after removing the volume)."])
        { Operations = Operations };
    }

    private void Add(string op, string way, double ms)
    {
        if (!_samples.TryGetValue((op, way), out var list))
        {
            _samples[(op, way)] = list = [];
        }

        list.Add(ms);
    }

    private void Direct(LibvirtStoragePool pool)
    {
        for (var i = 0; i < reps; i++)
        {
            var name = $"{_prefix}-a{i}";
            var start = Stopwatch.GetTimestamp();
            using var vol = pool.StorageVolCreateXml(DiskOperations.VolumeXml(name, Capacity));
            Add("create-disk", "direct", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            vol.Delete();
            Add("delete-disk", "direct", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private static async Task<double> Virsh(params string[] args)
    {
        var start = Stopwatch.GetTimestamp();
        await Cli.Wrap("virsh").WithArguments(["-c", Uri, .. args]).ExecuteBufferedAsync();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private async Task VirshAsync(string poolName)
    {
        for (var i = 0; i < reps; i++)
        {
            var name = $"{_prefix}-b{i}";
            Add("create-disk", "virsh", await Virsh("vol-create-as", poolName, name, Capacity.ToString(CultureInfo.InvariantCulture), "--format", "qcow2"));
            Add("delete-disk", "virsh", await Virsh("vol-delete", name, "--pool", poolName));
        }
    }

    private async Task EndToEndAsync(string poolName)
    {
        const string node = "bench-disks";
        await using var cluster = await BenchCluster.StartAsync(workDir);
        using var host = AgentHost.Build(["--node", node, "--kubeconfig", cluster.Kubeconfig, "--libvirt-uri", Uri,
            "--domain-type", "qemu", "--retry-base-ms", "50"]);
        await host.StartAsync();
        await using var watcher = new DiskWatcher(cluster.Client, node);
        await watcher.StartAsync();
        var r = BenchCluster.Resource(Kinds.VirtualMachineDisk);
        try
        {
            // The first create and delete warm the agent's paths: not timed.
            for (var i = -1; i < reps; i++)
            {
                var name = $"{_prefix}-c{i + 1}";
                var created = watcher.Expect(name, gone: false);
                var start = Stopwatch.GetTimestamp();
                await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(new KubeStackResource
                {
                    ApiVersion = KubeStackResource.GroupVersion,
                    Kind = Kinds.VirtualMachineDisk,
                    Metadata = new V1ObjectMeta
                    {
                        Name = name,
                        NamespaceProperty = "default",
                        Labels = new Dictionary<string, string> { [Labels.Host] = node, [Labels.EventId] = $"create-{i}" },
                    },
                    Spec = new KubeStackSpec
                    {
                        Lifecycle = new JsonObject
                        {
                            ["createDisk"] = new JsonObject
                            {
                                ["type"] = "localfs",
                                ["pool"] = poolName,
                                ["capacity"] = Capacity.ToString(CultureInfo.InvariantCulture),
                                ["format"] = "qcow2",
                            },
                        },
                    },
                }, r.Group, r.Version, "default", r.Plural);
                var (phase, seen) = await created.WaitAsync(TimeSpan.FromSeconds(120));
                if (phase != RequestPhase.Succeeded)
                {
                    throw new InvalidOperationException($"createDisk of {name} ended {phase}; see the agent log.");
                }

                if (i >= 0)
                {
                    Add("create-disk", "e2e", Stopwatch.GetElapsedTime(start, seen).TotalMilliseconds);
                }

                var deleted = watcher.Expect(name, gone: true);
                start = Stopwatch.GetTimestamp();
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = $"delete-{i}" } },
                    ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["deleteDisk"] = new JsonObject { ["type"] = "localfs", ["pool"] = poolName } } },
                };
                await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync(
                    new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), r.Group, r.Version, "default", r.Plural, name);
                (phase, seen) = await deleted.WaitAsync(TimeSpan.FromSeconds(120));
                if (phase != RequestPhase.Succeeded)
                {
                    throw new InvalidOperationException($"deleteDisk of {name} ended {phase}; see the agent log.");
                }

                if (i >= 0)
                {
                    Add("delete-disk", "e2e", Stopwatch.GetElapsedTime(start, seen).TotalMilliseconds);
                }
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Watches this node's VirtualMachineDisks: a create ends Succeeded/Failed with spec.lifecycle removed, a delete when the object is gone.</summary>
    private sealed class DiskWatcher : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, (bool Gone, TaskCompletionSource<(RequestPhase, long)> Done)> _pending = new(StringComparer.Ordinal);
        private readonly KubernetesListWatcher<KubeStackResource> _source;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _watching = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _run = Task.CompletedTask;

        public DiskWatcher(Kubernetes client, string node) =>
            _source = new KubernetesListWatcher<KubeStackResource>(client, BenchCluster.Resource(Kinds.VirtualMachineDisk), labelSelector: $"{Labels.Host}={node}");

        public async Task StartAsync()
        {
            _run = Task.Run(() => RunAsync(_stop.Token));
            await _watching.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        public Task<(RequestPhase Phase, long SeenAt)> Expect(string name, bool gone)
        {
            var done = new TaskCompletionSource<(RequestPhase, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[name] = (gone, done);
            return done.Task;
        }

        private async Task RunAsync(CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    var list = await _source.ListAsync(ct);
                    _watching.TrySetResult();
                    await foreach (var evt in _source.WatchAsync(list.ResourceVersion, ct))
                    {
                        if (evt.Object is { } obj && _pending.TryGetValue(obj.Metadata.Name, out var p))
                        {
                            var record = obj.Status?.Lifecycle;
                            if (p.Gone && evt.Type == WatchEventType.Deleted)
                            {
                                p.Done.TrySetResult((RequestPhase.Succeeded, Stopwatch.GetTimestamp()));
                            }
                            else if (!p.Gone && obj.Spec.Lifecycle is null && record?.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
                            {
                                p.Done.TrySetResult((record.Phase, Stopwatch.GetTimestamp()));
                            }
                            else if (p.Gone && obj.Spec.Lifecycle is null && record?.Phase == RequestPhase.Failed)
                            {
                                p.Done.TrySetResult((RequestPhase.Failed, Stopwatch.GetTimestamp()));
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    await Task.Delay(50, ct);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.ContinueWith(_ => { }, TaskScheduler.Default);
            _stop.Dispose();
        }
    }
}
