using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Informers;

namespace KubeStack.Benchmarks;

/// <summary>p50/p95 of a sample in milliseconds.</summary>
internal sealed record Summary(int Count, double P50, double P95, double Mean)
{
    public static Summary? Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return null;
        }

        var sorted = samples.Order().ToArray();
        return new Summary(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.95), sorted.Average());
    }

    private static double Percentile(double[] sorted, double p)
    {
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{P50,8:F1} {P95,8:F1}");
}

/// <summary>
/// The API emulator with the repository's CRDs; counts every request it serves (from its request log) so the benchmarks
/// can report API writes per lifecycle request.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private long _objectWrites;
    private long _statusWrites;
    private long _eventWrites;
    private long _otherWrites;
    private long _reads;

    private BenchCluster()
    {
    }

    public ApiEmulator.ApiEmulator Api { get; private set; } = null!;
    public Kubernetes Client { get; private set; } = null!;
    public string Kubeconfig { get; private set; } = "";

    /// <param name="workDir">Where the kubeconfig goes.</param>
    /// <param name="trace">Also called with each served request's log line and the Stopwatch time it ended (profiles).</param>
    public static async Task<BenchCluster> StartAsync(string workDir, Action<long, string>? trace = null)
    {
        var self = new BenchCluster();
        self.Api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions
        {
            BookmarkInterval = TimeSpan.FromSeconds(1),
            HistoryWindow = 20_000,
            RequestLog = trace is null ? self.Count : line =>
            {
                self.Count(line);
                trace(Stopwatch.GetTimestamp(), line);
            },
        });
        await self.Api.RegisterCrdsFromFolderAsync(Path.Combine(RepoPaths.Root, "crds"));
        self.Client = self.Api.CreateClient();
        self.Kubeconfig = self.Api.WriteKubeconfig(Path.Combine(workDir, $"kubeconfig-{self.Api.Port}"));
        return self;
    }

    public ApiCounts Counts => new(Interlocked.Read(ref _objectWrites), Interlocked.Read(ref _statusWrites), Interlocked.Read(ref _eventWrites),
        Interlocked.Read(ref _otherWrites), Interlocked.Read(ref _reads));

    private void Count(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var method = space > 0 ? line[..space] : line;
        var path = space > 0 ? line[(space + 1)..] : "";
        if (method is "GET" or "HEAD" or "OPTIONS")
        {
            Interlocked.Increment(ref _reads);
        }
        else if (path.Contains("/events", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _eventWrites);
        }
        else if (path.Contains(KubeStackResource.Group, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref path.Contains("/status", StringComparison.Ordinal) ? ref _statusWrites : ref _objectWrites);
        }
        else
        {
            Interlocked.Increment(ref _otherWrites);
        }
    }

    public static ApiResource Resource(string kind) => KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(kind));

    public Task<KubeStackResource> CreateVmAsync(string name, string node, string? op, string eventId)
    {
        var r = Resource(Kinds.VirtualMachine);
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = "default",
                Labels = new Dictionary<string, string> { [Labels.Host] = node, [Labels.EventId] = eventId },
            },
            Spec = new KubeStackSpec { Lifecycle = op is null ? null : new JsonObject { [op] = new JsonObject() } },
        };
        return Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(obj, r.Group, r.Version, "default", r.Plural);
    }

    /// <summary>One request: the lifecycle key and a new event ID in one merge patch (what a client of the seed does).</summary>
    public Task<KubeStackResource> RequestAsync(string name, string op, string eventId)
    {
        var r = Resource(Kinds.VirtualMachine);
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = eventId } },
            ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { [op] = new JsonObject() } },
        };
        return Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), r.Group, r.Version, "default", r.Plural, name);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
    }
}

internal sealed record ApiCounts(long ObjectWrites, long StatusWrites, long EventWrites, long OtherWrites, long Reads)
{
    public static ApiCounts operator -(ApiCounts a, ApiCounts b) => new(a.ObjectWrites - b.ObjectWrites, a.StatusWrites - b.StatusWrites,
        a.EventWrites - b.EventWrites, a.OtherWrites - b.OtherWrites, a.Reads - b.Reads);
}

/// <summary>
/// A watching client (list + watch over HTTP, as kubectl --watch): completes a request's task when the object shows the
/// request's event ID in a terminal phase with spec.lifecycle removed.
/// </summary>
internal sealed class RequestWatcher : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly KubernetesListWatcher<KubeStackResource> _source;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _watching = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;

    public RequestWatcher(Kubernetes client, string node)
    {
        _source = new KubernetesListWatcher<KubeStackResource>(client, BenchCluster.Resource(Kinds.VirtualMachine), labelSelector: $"{Labels.Host}={node}");
    }

    public async Task StartAsync()
    {
        _run = Task.Run(() => RunAsync(_stop.Token));
        await _watching.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Registers interest before the request is written; the task ends with the terminal phase and the time it was seen.</summary>
    public Task<(RequestPhase Phase, long SeenAt)> Expect(string name, string eventId)
    {
        var pending = new Pending(eventId, new TaskCompletionSource<(RequestPhase, long)>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pending[name] = pending;
        return pending.Done.Task;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _source.ListAsync(ct);
                foreach (var item in list.Items)
                {
                    Observe(item);
                }

                _watching.TrySetResult();
                await foreach (var evt in _source.WatchAsync(list.ResourceVersion, ct))
                {
                    if (evt.Object is { } obj)
                    {
                        Observe(obj);
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

    private void Observe(KubeStackResource obj)
    {
        var name = obj.Metadata.Name;
        if (!_pending.TryGetValue(name, out var pending))
        {
            return;
        }

        var record = obj.Status?.Lifecycle;
        if (obj.Spec.Lifecycle is null && record is not null && record.EventId == pending.EventId
            && record.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
        {
            if (pending.Done.TrySetResult((record.Phase, Stopwatch.GetTimestamp())))
            {
                _pending.TryRemove(new KeyValuePair<string, Pending>(name, pending));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private sealed record Pending(string EventId, TaskCompletionSource<(RequestPhase, long)> Done);
}

/// <summary>RSS, peak RSS and CPU seconds of a process from /proc.</summary>
internal static class ProcStat
{
    public static double RssMb(int pid) => StatusKb(pid, "VmRSS:") / 1024.0;

    public static double PeakRssMb(int pid) => StatusKb(pid, "VmHWM:") / 1024.0;

    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15; USER_HZ is 100 on Linux.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static long StatusKb(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
}
