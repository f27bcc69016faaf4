using System.Globalization;
using System.Text.Json;
using KubeStack.ApiEmulator;
using KubeStack.Benchmarks;

// make bench → hack/bench.sh → this program. Options:
//   --out DIR        where the JSON and logs go (default artifacts/bench)
//   --reps N         latency repetitions per operation (default 20)
//   --count N        objects of the scale run (default 1000)
//   --agent-dll P    the built node agent for the scale run (default node-agent/src/KubeStack.NodeAgent/bin/Release/net10.0/...)
//   --agent-workers N  the scale run's agent --workers (default 16, the agent's default)
//   --only latency|scale|profile|disks   one part (profile: the e2e critical path step by step; disks: create/delete-disk on the lab only); --no-lab skips the lab latency run (it runs when qemu:///system answers).
var options = Options.Parse(args);
Directory.CreateDirectory(options.Out);
var report = Console.Out;
// The in-process agent logs to the console; keep its output in a file and the table on stdout.
var agentLog = new StreamWriter(Path.Combine(options.Out, "agent-inprocess.log")) { AutoFlush = true };
Console.SetOut(agentLog);
var started = DateTime.UtcNow;
var results = new Dictionary<string, object>
{
    ["startedUtc"] = started.ToString("O", CultureInfo.InvariantCulture),
    ["host"] = Environment.MachineName,
    ["processors"] = Environment.ProcessorCount,
    ["loadAverageAtStart"] = ProcStat.LoadAverage(),
};

if (options.Only == "profile")
{
    // Where the e2e time of suspend/resume/stop-force/start goes (docs/performance.md "Where the time goes").
    using (var profile = new LatencyProfile(LatencyTarget.TestDriver, options.Reps, options.Out, report))
    {
        await profile.RunAsync();
    }

    if (options.Lab && LabAvailable())
    {
        using var profile = new LatencyProfile(LatencyTarget.Lab, options.Reps, options.Out, report);
        await profile.RunAsync();
    }

    return 0;
}

var latency = new List<LatencyResult>();
if (options.Only == "disks" && LabAvailable())
{
    latency.Add(await new DiskLatencyBench(Math.Max(3, options.Reps / 2), options.Out, report).RunAsync());
}

if (options.Only is null or "latency")
{
    latency.Add(await new LatencyBench(LatencyTarget.TestDriver, options.Reps, options.Out, report).RunAsync());
    if (options.Lab && LabAvailable())
    {
        latency.Add(await new LatencyBench(LatencyTarget.Lab, Math.Max(3, options.Reps / 2), options.Out, report).RunAsync());
        latency.Add(await new DiskLatencyBench(Math.Max(3, options.Reps / 2), options.Out, report).RunAsync());
    }
    else
    {
        report.WriteLine("lab latency skipped (--no-lab, or qemu:///system does not answer: run make lab-up)");
    }

    results["latency"] = latency;
}

ScaleResult? scale = null;
if (options.Only is null or "scale")
{
    report.WriteLine($"scale on test driver: {options.Count} objects");
    scale = await new ScaleBench(options.Count, options.AgentDll, options.AgentWorkers, options.Out, report).RunAsync();
    results["scale"] = scale;
}

results["loadAverageAtEnd"] = ProcStat.LoadAverage();
results["seconds"] = (DateTime.UtcNow - started).TotalSeconds;
var json = Path.Combine(options.Out, $"bench-{started:yyyyMMdd-HHmmss}.json");
await File.WriteAllTextAsync(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
File.Copy(json, Path.Combine(options.Out, "latest.json"), overwrite: true);

Tables.Print(report, latency, scale);
report.WriteLine($"JSON: {json}");
return 0;

static bool LabAvailable()
{
    try
    {
        using var conn = KubeStack.NodeAgent.Libvirt.LibvirtConnection.Open("qemu:///system");
        return File.Exists("/var/lib/kubestack-lab/vmlinuz");
    }
    catch (KubeStack.NodeAgent.Libvirt.LibvirtException)
    {
        return false;
    }
}

internal sealed record Options(string Out, int Reps, int Count, string AgentDll, string? Only, bool Lab, int AgentWorkers)
{
    public static Options Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var root = RepoPaths.Root;
        return new Options(
            Path.GetFullPath(Value("--out", Path.Combine(root, "artifacts", "bench"))),
            int.Parse(Value("--reps", "20"), CultureInfo.InvariantCulture),
            int.Parse(Value("--count", "1000"), CultureInfo.InvariantCulture),
            Path.GetFullPath(Value("--agent-dll", Path.Combine(root, "node-agent", "src", "KubeStack.NodeAgent", "bin", "Release", "net10.0", "KubeStack.NodeAgent.dll"))),
            args.Contains("--only") ? Value("--only", "") : null,
            !args.Contains("--no-lab"),
            int.Parse(Value("--agent-workers", "16"), CultureInfo.InvariantCulture));
    }
}

internal static class Tables
{
    public static void Print(TextWriter w, IReadOnlyList<LatencyResult> latency, ScaleResult? scale)
    {
        foreach (var run in latency)
        {
            w.WriteLine();
            w.WriteLine($"Operation latency on {run.Target} ({run.Repetitions} repetitions; ms)");
            w.WriteLine($"{"operation",-13} {"direct p50",10} {"p95",8} {"virsh p50",10} {"p95",8} {"e2e p50",9} {"p95",8} {"e2e/direct",10} {"e2e/virsh",9} {"e2e-direct",10}");
            foreach (var op in run.Operations)
            {
                run.Samples.TryGetValue($"{op}/direct", out var a);
                run.Samples.TryGetValue($"{op}/virsh", out var b);
                run.Samples.TryGetValue($"{op}/e2e", out var c);
                w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{op,-13} {F(a?.P50),10} {F(a?.P95),8} {F(b?.P50),10} {F(b?.P95),8} {F(c?.P50),9} {F(c?.P95),8} {R(c?.P50, a?.P50),10} {R(c?.P50, b?.P50),9} {D(c?.P50, a?.P50),10}"));
            }

            foreach (var note in run.Notes)
            {
                w.WriteLine($"  note: {note}");
            }
        }

        if (scale is null)
        {
            return;
        }

        w.WriteLine();
        w.WriteLine($"Scale on the test driver ({scale.Count} VMs, agent as its own process with {scale.AgentWorkers} workers; load average at start {scale.LoadAverageAtStart:F1})");
        foreach (var batch in new[] { scale.FullSpeed, scale.Spaced }.OfType<BatchResult>())
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {batch.Operation} x{scale.Count} spacing {batch.SpacingMs:F0} ms: all terminal in {batch.WallSeconds:F1} s ({batch.Succeeded} Succeeded), "
                + $"p50 {batch.Latency.P50:F0} ms p95 {batch.Latency.P95:F0} ms, agent writes/request {batch.AgentObjectWritesPerRequest:F2} "
                + $"(+ {batch.EventWritesPerRequest:F2} Events), reads/request {batch.ReadsPerRequest:F2}, agent CPU {batch.AgentCpuSeconds:F1} s, RSS {batch.AgentRssMb:F0} MB"));
        }

        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  agent RSS idle {scale.AgentIdleRssMb:F0} MB, with {scale.Count} VMs {scale.AgentRssWithObjectsMb:F0} MB, peak {scale.AgentPeakRssMb:F0} MB; CPU total {scale.AgentCpuSecondsTotal:F1} s"));
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  startup → first request Succeeded: empty {scale.StartupEmptyMs:F0} ms, with {scale.Count + 1} objects {scale.StartupWithObjectsMs:F0} ms ({scale.AgentCpuSecondsStartupWithObjects:F1} CPU s)"));
        if (scale.Resync is { } r)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  full VM resync of {r.Domains} domains: CPU p50 {r.CpuMsP50:F0} ms, wall p50 {r.WallMsP50:F0} ms, {r.AllocatedMb:F1} MB allocated, {r.CorrectionWrites} correction writes"));
        }

        if (scale.Operator is { } o)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  operator RSS idle {o.IdleRssMb:F0} MB, with {o.Count} VMs {o.RssWithObjectsMb:F0} MB, peak {o.PeakRssMb:F0} MB; CPU {o.CpuSecondsBatch:F1} s for {o.Count} placements "
                + $"({o.Succeeded}/{o.Terminal} Succeeded, all terminal in {o.WallSeconds:F1} s with the operator in the path); leader and synced in {o.StartupMs:F0} ms"));
        }
    }

    private static string F(double? v) => v is null ? "-" : v.Value.ToString("F1", CultureInfo.InvariantCulture);

    private static string R(double? c, double? floor) => c is null || floor is null or 0 ? "-" : (c.Value / floor.Value).ToString("F2", CultureInfo.InvariantCulture);

    private static string D(double? c, double? floor) => c is null || floor is null ? "-" : (c.Value - floor.Value).ToString("F1", CultureInfo.InvariantCulture);
}
