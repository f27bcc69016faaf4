using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Xml;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Observability;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KubeStack.Benchmarks;

/// <summary>
/// Where the end-to-end time of one request goes (`--only profile`): the same e2e setup as <see cref="LatencyBench"/>
/// (in-process agent, API emulator, watching client), with Stopwatch marks on every step of the critical path:
/// the client's patch, the agent informer receiving the request, every HTTP request the process makes (System.Net.Http
/// spans: GET, status PUTs, Event POSTs, spec PATCH; with the emulator's own time for each), the request span of the
/// agent and the completion of each libvirt call, and the watching client seeing the outcome. Prints, per operation,
/// the median timeline (offsets from the client's patch) and the median duration of each step; then the handler's libvirt
/// calls and the view's XML→JSON conversion timed one by one on the same domain.
/// </summary>
internal sealed class LatencyProfile(LatencyTarget target, int reps, string workDir, TextWriter report) : IDisposable
{
    private readonly ConcurrentQueue<Mark> _marks = new();
    private readonly ConcurrentQueue<(long End, string Line)> _server = new();
    private readonly string _name = $"kst-prof-{Guid.NewGuid().ToString("N")[..6]}";
    private ActivityListener? _listener;

    /// <summary>One step: a span (start..end) or a point (start == end), in Stopwatch ticks.</summary>
    private sealed record Mark(string Label, long Start, long End);

    public async Task RunAsync()
    {
        report.WriteLine($"profile on {target.Label}: {reps} repetitions per operation; load average {ProcStat.LoadAverage():F1}");
        Listen();
        await EndToEndAsync();
        HandlerSteps();
    }

    private void Listen()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "System.Net.Http" or "Experimental.System.Net.Http.Connections"
                || s.Name is "KubeStack.NodeAgent.Requests" or LibvirtTelemetry.SourceName, // RequestProcessor.ActivitySource (named: this runs inside its static initializer)
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                var end = Stopwatch.GetTimestamp();
                var start = end - (long)(a.Duration.TotalSeconds * Stopwatch.Frequency);
                _marks.Enqueue(new Mark(Label(a), start, end));
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    private static string Label(Activity a)
    {
        if (a.Source.Name == "System.Net.Http")
        {
            var method = a.GetTagItem("http.request.method") as string ?? "?";
            var url = a.GetTagItem("url.full") as string ?? "";
            var path = url.Split('?')[0];
            return $"http {method} {Kind(path)}";
        }

        if (a.Source.Name.StartsWith("Experimental.System.Net.Http", StringComparison.Ordinal))
        {
            return "http " + a.OperationName;
        }

        return a.Source.Name == LibvirtTelemetry.SourceName ? $"{a.DisplayName} returned" : "agent span: " + a.DisplayName;
    }

    private void Point(string label) => _marks.Enqueue(new Mark(label, Stopwatch.GetTimestamp(), Stopwatch.GetTimestamp()));

    private async Task EndToEndAsync()
    {
        const string node = "bench-profile";
        await using var cluster = await BenchCluster.StartAsync(workDir, (end, line) => _server.Enqueue((end, line)));
        using var host = AgentHost.Build(["--node", node, "--kubeconfig", cluster.Kubeconfig, "--libvirt-uri", target.Uri,
            "--domain-type", "qemu", "--retry-base-ms", "50"]);
        var controller = host.Services.GetRequiredService<AgentController>();
        controller.Informers[Kinds.VirtualMachine].AddHandler(evt =>
        {
            if (evt.Object.Metadata.Name == _name)
            {
                Point(AgentController.ShouldEnqueue(evt) ? "agent informer: event enqueued" : "agent informer: status-only event");
            }
        });
        await host.StartAsync();
        await using var watcher = new RequestWatcher(cluster.Client, node);
        await watcher.StartAsync();
        using var conn = LibvirtConnection.Open(target.Uri);
        using (var dom = conn.DefineXml(target.DomainXml(_name)))
        {
            dom.Create();
        }

        var seq = 0;
        var timelines = new Dictionary<string, List<List<(string Label, double StartMs, double EndMs)>>>();
        async Task Request(string op, bool create = false, bool record = true)
        {
            var eventId = $"ev-{++seq}";
            var done = watcher.Expect(_name, eventId);
            _marks.Clear();
            _server.Clear();
            var start = Stopwatch.GetTimestamp();
            if (create)
            {
                await cluster.CreateVmAsync(_name, node, op, eventId);
            }
            else
            {
                await cluster.RequestAsync(_name, op, eventId);
            }

            _marks.Enqueue(new Mark("client: patch written", start, Stopwatch.GetTimestamp()));
            var (phase, seen) = await done.WaitAsync(TimeSpan.FromSeconds(120));
            if (phase != RequestPhase.Succeeded)
            {
                throw new InvalidOperationException($"{op} on {_name} ended {phase}; see the agent log.");
            }

            _marks.Enqueue(new Mark("client: watch shows Succeeded", seen, seen));
            // Writes after the client saw the outcome (if any) are part of the request too: give them a moment to land.
            await Task.Delay(200);
            if (!record)
            {
                return;
            }

            double Ms(long t) => Stopwatch.GetElapsedTime(start, t).TotalMilliseconds;
            var line = _marks.Select(m => (m.Label, Ms(m.Start), Ms(m.End)))
                .Concat(_server.Select(s => ServerStep(s.Line, Ms(s.End))))
                .OrderBy(m => m.Item2).ToList();
            if (!timelines.TryGetValue(op, out var list))
            {
                timelines[op] = list = [];
            }

            list.Add(line);
        }

        try
        {
            await Request("suspendVM", create: true, record: false);
            await Request("resumeVM", record: false);
            for (var i = 0; i < reps; i++)
            {
                await Request("suspendVM");
                await Request("resumeVM");
                await Request("stopVMForce");
                await Request("startVM");
            }
        }
        finally
        {
            BenchDomains.Remove(conn, _name);

            await host.StopAsync();
        }

        foreach (var (op, runs) in timelines)
        {
            PrintTimeline(op, runs);
        }
    }

    /// <summary>An emulator log line "VERB /path -> CODE (N ms)" as a step that ended at <paramref name="endMs"/> and took N ms (rounded).</summary>
    private static (string, double, double) ServerStep(string line, double endMs)
    {
        var open = line.LastIndexOf(" (", StringComparison.Ordinal);
        var took = open > 0 && double.TryParse(line[(open + 2)..].Replace(" ms)", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : 0;
        var text = open > 0 ? line[..open] : line;
        var path = text.Split(' ') is [var verb, var url, ..] ? $"{verb} {Kind(url.Split('?')[0])}" : text;
        return ("emulator served " + path, endMs - took, endMs);
    }

    private static string Kind(string path) => path.EndsWith("/status", StringComparison.Ordinal) ? "status"
        : path.Contains("/events", StringComparison.Ordinal) ? "Event"
        : path.Contains("/virtualmachines/", StringComparison.Ordinal) ? "object"
        : path;

    /// <summary>Median offsets of each step (the k-th occurrence of a label is its own step), sorted by median start.</summary>
    private void PrintTimeline(string op, List<List<(string Label, double StartMs, double EndMs)>> runs)
    {
        var steps = new Dictionary<string, (List<double> Start, List<double> End)>();
        foreach (var run in runs)
        {
            var seen = new Dictionary<string, int>();
            foreach (var (label, s, e) in run)
            {
                var n = seen[label] = seen.GetValueOrDefault(label) + 1;
                var key = n == 1 ? label : $"{label} #{n}";
                if (!steps.TryGetValue(key, out var lists))
                {
                    steps[key] = lists = ([], []);
                }

                lists.Start.Add(s);
                lists.End.Add(e);
            }
        }

        report.WriteLine();
        report.WriteLine($"{op} on {target.Label}: median timeline over {runs.Count} requests (ms from the client's patch; n = requests with the step)");
        report.WriteLine($"  {"start",8} {"end",8} {"took",7} {"n",3}  step");
        foreach (var (key, (start, end)) in steps.OrderBy(kv => Median(kv.Value.Start)))
        {
            var took = start.Zip(end, (s, e) => e - s).ToList();
            report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Median(start),8:F2} {Median(end),8:F2} {Median(took),7:F2} {start.Count,3}  {key}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The power handlers' libvirt calls and the view conversion, each timed alone on one running domain.</summary>
    private void HandlerSteps()
    {
        using var conn = LibvirtConnection.Open(target.Uri);
        var name = _name + "-h";
        var samples = new Dictionary<string, List<double>>();
        void Add(string step, double ms)
        {
            if (!samples.TryGetValue(step, out var l))
            {
                samples[step] = l = [];
            }

            l.Add(ms);
        }

        double Time(Action action)
        {
            var t = Stopwatch.GetTimestamp();
            action();
            return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }

        using (var created = conn.DefineXml(target.DomainXml(name)))
        {
            created.Create();
        }

        try
        {
            for (var i = 0; i < Math.Max(reps, 5); i++)
            {
                LibvirtDomain? dom = null;
                Add("virDomainLookupByName", Time(() => dom = conn.TryLookupDomainByName(name)));
                using (dom)
                {
                    Add("virDomainGetState", Time(() => dom!.GetState()));
                    Add("virDomainSuspend", Time(() => dom!.Suspend()));
                    Add("virDomainResume", Time(() => dom!.Resume()));
                    var xml = "";
                    Add("virDomainGetXMLDesc (live)", Time(() => xml = dom!.GetXmlDesc(DomainXmlFlags.None)));
                    Add($"LibvirtXmlJson.ToJson ({xml.Length} chars)", Time(() => LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain)));
                }
            }
        }
        finally
        {
            BenchDomains.Remove(conn, name);
        }

        report.WriteLine();
        report.WriteLine($"handler steps on {target.Label}, each timed alone (ms)");
        foreach (var (step, values) in samples)
        {
            var s = Summary.Of(values)!;
            report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.P50,8:F2} p50 {s.P95,8:F2} p95  {step}"));
        }
    }

    public void Dispose() => _listener?.Dispose();
}
