using System.Diagnostics;
using System.Reflection;
using System.Text;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Watch;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Benchmarks;

/// <summary>
/// Density, scale, resync and startup on the libvirt test driver: the real agent as its own process (so its RSS and CPU are
/// its own) serving a test:///&lt;file&gt; connection that holds <c>count</c> running domains, driven through CRs on the
/// API emulator (in this process, counting writes).
/// </summary>
internal sealed class ScaleBench(int count, string agentDll, int agentWorkers, string workDir, TextWriter log)
{
    private const string Node = "bench-scale";
    private const string Probe = "kst-scale-probe";

    private static string DomainName(int i) => $"kst-scale-{i:D5}";

    public async Task<ScaleResult> RunAsync()
    {
        var driverFile = Path.Combine(workDir, $"testdriver-{count}.xml");
        WriteDriverFile(driverFile);
        var uri = "test://" + driverFile;
        await using var cluster = await BenchCluster.StartAsync(workDir);
        await using var watcher = new RequestWatcher(cluster.Client, Node);
        await watcher.StartAsync();
        var result = new ScaleResult { Count = count, AgentWorkers = agentWorkers, LoadAverageAtStart = ProcStat.LoadAverage() };

        var agent = AgentProcess.Start(agentDll, agentWorkers, Node, cluster.Kubeconfig, uri, Path.Combine(workDir, "agent-scale.log"));
        try
        {
            // Ready with no objects: process start → first request (the probe) Succeeded.
            var probeDone = watcher.Expect(Probe, "probe-1");
            await cluster.CreateVmAsync(Probe, Node, "suspendVM", "probe-1");
            var (_, seen) = await probeDone.WaitAsync(TimeSpan.FromMinutes(3));
            result.StartupEmptyMs = Stopwatch.GetElapsedTime(agent.Started, seen).TotalMilliseconds;
            await Task.Delay(TimeSpan.FromSeconds(3)); // settle (JIT, GC) before reading the idle RSS
            result.AgentIdleRssMb = ProcStat.RssMb(agent.Pid);
            log.WriteLine($"  agent ready in {result.StartupEmptyMs:F0} ms, idle RSS {result.AgentIdleRssMb:F1} MB");

            result.FullSpeed = await RunBatchAsync(cluster, watcher, agent, "suspendVM", "full", TimeSpan.Zero, create: true);
            log.WriteLine($"  full speed: {count} requests in {result.FullSpeed.WallSeconds:F1} s");
            result.Spaced = await RunBatchAsync(cluster, watcher, agent, "resumeVM", "spaced", TimeSpan.FromMilliseconds(100), create: false);
            log.WriteLine($"  100 ms spacing: {count} requests in {result.Spaced.WallSeconds:F1} s");
            result.AgentRssWithObjectsMb = ProcStat.RssMb(agent.Pid);
            result.AgentPeakRssMb = ProcStat.PeakRssMb(agent.Pid);
            result.AgentCpuSecondsTotal = ProcStat.CpuSeconds(agent.Pid);
        }
        finally
        {
            agent.Dispose();
        }

        // Startup with every object present: a new agent process lists them all, then serves the probe's next request.
        var restarted = AgentProcess.Start(agentDll, agentWorkers, Node, cluster.Kubeconfig, uri, Path.Combine(workDir, "agent-scale-restart.log"));
        try
        {
            // The new process reopens the driver file: every domain is running again, so the probe suspends.
            var done = watcher.Expect(Probe, "probe-2");
            await cluster.RequestAsync(Probe, "suspendVM", "probe-2");
            var (_, seen) = await done.WaitAsync(TimeSpan.FromMinutes(3));
            result.StartupWithObjectsMs = Stopwatch.GetElapsedTime(restarted.Started, seen).TotalMilliseconds;
            result.AgentCpuSecondsStartupWithObjects = ProcStat.CpuSeconds(restarted.Pid);
            log.WriteLine($"  restart with {count + 1} objects: ready (probe Succeeded) in {result.StartupWithObjectsMs:F0} ms");
        }
        finally
        {
            restarted.Dispose();
        }

        result.Resync = await ResyncAsync(cluster, uri);
        log.WriteLine($"  resync of {count + 1} domains: {result.Resync.CpuMsP50:F0} ms CPU, {result.Resync.AllocatedMb:F1} MB allocated");

        // The operator idle and placing `count` new requests (with the agent running them), on a fresh emulator.
        var operatorDll = Path.Combine(RepoPaths.Root, "operator", "src", "KubeStack.Operator", "bin", "Release", "net10.0", "KubeStack.Operator.dll");
        if (File.Exists(operatorDll))
        {
            result.Operator = await new OperatorBench(count, operatorDll, agentDll, agentWorkers, workDir, log).RunAsync(uri, DomainName);
        }
        else
        {
            log.WriteLine($"  operator skipped: {operatorDll} is not built (dotnet build operator/src/KubeStack.Operator -c Release)");
        }

        return result;
    }

    private void WriteDriverFile(string path)
    {
        var xml = new StringBuilder("<node>\n");
        var index = 0;
        foreach (var name in Enumerable.Range(0, count).Select(DomainName).Append(Probe))
        {
            // Fixed UUIDs: every process that opens the file (the agent, this program's resync run) sees the same domains.
            xml.Append("<domain type='test'><name>").Append(name).Append("</name><uuid>")
               .Append(new Guid(0x6b757374, 0, 0, BitConverter.GetBytes((long)index++))).Append("</uuid>")
               .Append("<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>\n");
        }

        File.WriteAllText(path, xml.Append("</node>\n").ToString());
    }

    private async Task<BatchResult> RunBatchAsync(BenchCluster cluster, RequestWatcher watcher, BenchProcess agent, string op, string tag,
        TimeSpan spacing, bool create)
    {
        var before = cluster.Counts;
        var cpuBefore = ProcStat.CpuSeconds(agent.Pid);
        var latencies = new double[count];
        var phases = new RequestPhase[count];
        using var gate = new SemaphoreSlim(32);
        var start = Stopwatch.GetTimestamp();
        var tasks = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            if (spacing > TimeSpan.Zero)
            {
                var due = start + (long)(spacing.TotalSeconds * Stopwatch.Frequency * i);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            await gate.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                var name = DomainName(index);
                var eventId = $"{tag}-{index}";
                var done = watcher.Expect(name, eventId);
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    if (create)
                    {
                        await cluster.CreateVmAsync(name, Node, op, eventId);
                    }
                    else
                    {
                        await cluster.RequestAsync(name, op, eventId);
                    }
                }
                finally
                {
                    gate.Release();
                }

                var (phase, seen) = await done.WaitAsync(TimeSpan.FromMinutes(10));
                latencies[index] = Stopwatch.GetElapsedTime(sent, seen).TotalMilliseconds;
                phases[index] = phase;
            }));
        }

        await Task.WhenAll(tasks);
        var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(2)); // late writes (events) of the last requests
        var used = cluster.Counts - before;
        // The client's own write per request (the create or the patch) is not the agent's.
        var agentObjectWrites = used.ObjectWrites + used.StatusWrites - count;
        return new BatchResult
        {
            Operation = op,
            SpacingMs = spacing.TotalMilliseconds,
            WallSeconds = wall,
            Latency = Summary.Of(latencies)!,
            Succeeded = phases.Count(p => p == RequestPhase.Succeeded),
            AgentObjectWritesPerRequest = agentObjectWrites / (double)count,
            EventWritesPerRequest = used.EventWrites / (double)count,
            ReadsPerRequest = used.Reads / (double)count,
            AgentCpuSeconds = ProcStat.CpuSeconds(agent.Pid) - cpuBefore,
            AgentRssMb = ProcStat.RssMb(agent.Pid),
        };
    }

    /// <summary>
    /// The VM watcher's full resync (every domain's state and XML compared with its object), run in this process against
    /// the same test driver file and the same objects: CPU time and allocations of one pass (p50 of 5 after a warm-up).
    /// </summary>
    private static async Task<ResyncResult> ResyncAsync(BenchCluster cluster, string uri)
    {
        var source = new KubernetesListWatcher<KubeStackResource>(cluster.Client, BenchCluster.Resource(Kinds.VirtualMachine),
            labelSelector: $"{Labels.Host}={Node}");
        var vms = (await source.ListAsync(CancellationToken.None)).Items.ToList();
        using var libvirt = new LibvirtHost(uri);
        var watcher = new VmStateWatcher(libvirt, new KubeObjectApi(cluster.Client, CatalogLoader.Default),
            new EventRecorder(cluster.Client, "kubestack-node-agent", Node), () => vms, Node, new VmStateWatcherOptions(),
            NullLogger<VmStateWatcher>.Instance);
        var process = typeof(VmStateWatcher).GetMethod("ProcessAsync", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("VmStateWatcher.ProcessAsync(string?, CancellationToken) is gone: update the resync benchmark.");
        var cpu = new List<double>();
        var wall = new List<double>();
        long allocated = 0;
        var writesBefore = cluster.Counts;
        for (var i = 0; i < 6; i++)
        {
            if (i == 1)
            {
                writesBefore = cluster.Counts; // the warm-up pass may correct drift once; the measured passes should write nothing
            }

            var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var start = Stopwatch.GetTimestamp();
            await (Task)process.Invoke(watcher, [null, CancellationToken.None])!;
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            if (i > 0)
            {
                cpu.Add(cpuMs);
                wall.Add(elapsed);
                allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
            }
        }

        var writes = cluster.Counts - writesBefore;
        return new ResyncResult
        {
            Domains = vms.Count,
            CpuMsP50 = Summary.Of(cpu)!.P50,
            WallMsP50 = Summary.Of(wall)!.P50,
            AllocatedMb = allocated / 1024.0 / 1024.0,
            CorrectionWrites = writes.ObjectWrites + writes.StatusWrites,
        };
    }
}

/// <summary>
/// A KubeStack process as a child (the node agent, the operator): <c>dotnet X.dll args</c>, or the file itself when it is
/// not a .dll (a NativeAOT agent); argument list, no shell; output to a log file, lines can be awaited.
/// </summary>
internal sealed class BenchProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly List<(string Text, TaskCompletionSource Seen)> _awaited = [];

    private BenchProcess(Process process, StreamWriter log, long started)
    {
        _process = process;
        _log = log;
        Started = started;
    }

    public long Started { get; }
    public int Pid => _process.Id;

    public static BenchProcess Start(string program, IEnumerable<string> args, string logFile)
    {
        var dll = program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? "dotnet" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (dll ? [program] : Array.Empty<string>()).Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        var log = new StreamWriter(logFile) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        var started = Stopwatch.GetTimestamp();
        var self = new BenchProcess(process, log, started);
        process.OutputDataReceived += (_, e) => self.Write(e.Data);
        process.ErrorDataReceived += (_, e) => self.Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return self;
    }

    /// <summary>Completes when a log line containing <paramref name="text"/> is written from now on.</summary>
    public Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_log)
        {
            _awaited.Add((text, seen));
        }

        return seen.Task.WaitAsync(timeout);
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
            foreach (var (text, seen) in _awaited.Where(a => line.Contains(a.Text, StringComparison.Ordinal)))
            {
                seen.TrySetResult();
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(30_000);
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}

/// <summary>The node agent as a child process (<see cref="BenchProcess"/>) on a test driver URI.</summary>
internal static class AgentProcess
{
    public static BenchProcess Start(string agent, int workers, string node, string kubeconfig, string uri, string logFile) =>
        BenchProcess.Start(agent,
            ["--node", node, "--kubeconfig", kubeconfig, "--libvirt-uri", uri, "--domain-type", "qemu",
             "--workers", workers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--retry-base-ms", "50",
             "--vm-resync-seconds", "3600", "--resync-seconds", "3600"],
            logFile);
}

internal sealed class BatchResult
{
    public string Operation { get; init; } = "";
    public double SpacingMs { get; init; }
    public double WallSeconds { get; init; }
    public Summary Latency { get; init; } = null!;
    public int Succeeded { get; init; }
    public double AgentObjectWritesPerRequest { get; init; }
    public double EventWritesPerRequest { get; init; }
    public double ReadsPerRequest { get; init; }
    public double AgentCpuSeconds { get; init; }
    public double AgentRssMb { get; init; }
}

internal sealed class ResyncResult
{
    public int Domains { get; init; }
    public double CpuMsP50 { get; init; }
    public double WallMsP50 { get; init; }
    public double AllocatedMb { get; init; }
    public long CorrectionWrites { get; init; }
}

internal sealed class ScaleResult
{
    public int Count { get; init; }
    public int AgentWorkers { get; init; }
    public double LoadAverageAtStart { get; init; }
    public double StartupEmptyMs { get; set; }
    public double AgentIdleRssMb { get; set; }
    public BatchResult? FullSpeed { get; set; }
    public BatchResult? Spaced { get; set; }
    public double AgentRssWithObjectsMb { get; set; }
    public double AgentPeakRssMb { get; set; }
    public double AgentCpuSecondsTotal { get; set; }
    public double StartupWithObjectsMs { get; set; }
    public double AgentCpuSecondsStartupWithObjects { get; set; }
    public ResyncResult? Resync { get; set; }
    public OperatorResult? Operator { get; set; }
}
