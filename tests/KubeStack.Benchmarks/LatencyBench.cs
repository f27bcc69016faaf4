using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Libvirt;
using Microsoft.Extensions.Hosting;

namespace KubeStack.Benchmarks;

/// <summary>Where the latency benchmark runs: a libvirt URI and the domain XML it can start there.</summary>
internal sealed record LatencyTarget(string Label, string Uri, Func<string, string> DomainXml, bool SharedState)
{
    public static LatencyTarget TestDriver { get; } = new("test:///default", "test:///default", name =>
        $"<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>",
        SharedState: false);

    /// <summary>The lab: a TCG guest booting the lab kernel and initramfs (no disk), on the shared libvirtd.</summary>
    public static LatencyTarget Lab { get; } = new("lab qemu:///system (TCG)", "qemu:///system", name => $"""
        <domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/var/lib/kubestack-lab/vmlinuz</kernel>
            <initrd>/var/lib/kubestack-lab/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
          <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/><console type='pty'/></devices></domain>
        """, SharedState: true);
}

/// <summary>
/// Operation latency against its floor, in one run: (a) the libvirt call through our binding, (b) the virsh command line,
/// (c) KubeStack end to end (request written to the API → Succeeded seen by a watching client) with the real agent
/// (AgentHost, real handlers, real libvirt) in this process and the API emulator.
/// </summary>
internal sealed class LatencyBench(LatencyTarget target, int reps, string workDir, TextWriter log)
{
    public static readonly string[] Operations = ["define+start", "suspend", "resume", "stop-force", "start", "delete"];

    private readonly Dictionary<(string Op, string Way), List<double>> _samples = [];
    private readonly List<string> _notes = [];
    private readonly string _prefix = $"kst-bench-{Guid.NewGuid().ToString("N")[..6]}";

    public async Task<LatencyResult> RunAsync()
    {
        log.WriteLine($"latency on {target.Label}: {reps} repetitions");
        Direct();
        await VirshAsync();
        await EndToEndAsync();
        return new LatencyResult(target.Label, reps, _samples.ToDictionary(kv => $"{kv.Key.Op}/{kv.Key.Way}", kv => Summary.Of(kv.Value)!), _notes);
    }

    private void Add(string op, string way, double ms)
    {
        if (!_samples.TryGetValue((op, way), out var list))
        {
            _samples[(op, way)] = list = [];
        }

        list.Add(ms);
    }

    private static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private void Direct()
    {
        using var conn = LibvirtConnection.Open(target.Uri);
        var name = $"{_prefix}-a";
        for (var i = 0; i < reps; i++)
        {
            LibvirtDomain? dom = null;
            Add("define+start", "direct", Time(() =>
            {
                dom = conn.DefineXml(target.DomainXml(name));
                dom.Create();
            }));
            using (dom)
            {
                Add("suspend", "direct", Time(() => dom!.Suspend()));
                Add("resume", "direct", Time(() => dom!.Resume()));
                Add("stop-force", "direct", Time(() => dom!.Destroy()));
                Add("start", "direct", Time(() => dom!.Create()));
                dom!.Destroy();
                Add("delete", "direct", Time(() => dom!.Undefine()));
            }
        }
    }

    private async Task<double> VirshAsync(params string[] args)
    {
        var start = Stopwatch.GetTimestamp();
        await Cli.Wrap("virsh").WithArguments(["-c", target.Uri, .. args]).ExecuteBufferedAsync();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private async Task VirshAsync()
    {
        if (!target.SharedState)
        {
            // Every virsh process opens its own test:///default (the stock running domain "test"): only the operations that
            // start from that state can be timed; the others have no command-line floor here.
            for (var i = 0; i < reps; i++)
            {
                Add("suspend", "virsh", await VirshAsync("suspend", "test"));
                Add("stop-force", "virsh", await VirshAsync("destroy", "test"));
            }

            _notes.Add("virsh on test:///default: each process has its own driver state, so only suspend and destroy of the stock "
                + "running domain 'test' can be timed (resume/start/define/delete would need state from an earlier process).");
            return;
        }

        var name = $"{_prefix}-b";
        var xmlFile = Path.Combine(workDir, $"{name}.xml");
        await File.WriteAllTextAsync(xmlFile, target.DomainXml(name));
        for (var i = 0; i < reps; i++)
        {
            Add("define+start", "virsh", await VirshAsync("define", xmlFile) + await VirshAsync("start", name));
            Add("suspend", "virsh", await VirshAsync("suspend", name));
            Add("resume", "virsh", await VirshAsync("resume", name));
            Add("stop-force", "virsh", await VirshAsync("destroy", name));
            Add("start", "virsh", await VirshAsync("start", name));
            await VirshAsync("destroy", name);
            Add("delete", "virsh", await VirshAsync("undefine", name));
        }
    }

    private async Task EndToEndAsync()
    {
        const string node = "bench-latency";
        await using var cluster = await BenchCluster.StartAsync(workDir);
        using var host = AgentHost.Build(["--node", node, "--kubeconfig", cluster.Kubeconfig, "--libvirt-uri", target.Uri,
            "--domain-type", "qemu", "--retry-base-ms", "50"]);
        await host.StartAsync();
        await using var watcher = new RequestWatcher(cluster.Client, node);
        await watcher.StartAsync();
        using var conn = LibvirtConnection.Open(target.Uri);
        var name = $"{_prefix}-c";
        using (var dom = conn.DefineXml(target.DomainXml(name)))
        {
            dom.Create();
        }

        var seq = 0;
        async Task<double> Request(string op, bool create = false)
        {
            var eventId = $"ev-{++seq}";
            var done = watcher.Expect(name, eventId);
            var start = Stopwatch.GetTimestamp();
            if (create)
            {
                await cluster.CreateVmAsync(name, node, op, eventId);
            }
            else
            {
                await cluster.RequestAsync(name, op, eventId);
            }

            var (phase, seen) = await done.WaitAsync(TimeSpan.FromSeconds(120));
            if (phase != RequestPhase.Succeeded)
            {
                throw new InvalidOperationException($"{op} on {name} ended {phase}; see the agent log.");
            }

            return Stopwatch.GetElapsedTime(start, seen).TotalMilliseconds;
        }

        try
        {
            var before = cluster.Counts;
            // The first request creates the object (and warms the agent's informers and handler paths): not timed.
            await Request("suspendVM", create: true);
            await Request("resumeVM");
            for (var i = 0; i < reps; i++)
            {
                Add("suspend", "e2e", await Request("suspendVM"));
                Add("resume", "e2e", await Request("resumeVM"));
                Add("stop-force", "e2e", await Request("stopVMForce"));
                Add("start", "e2e", await Request("startVM"));
            }

            var used = cluster.Counts - before;
            _notes.Add($"e2e API traffic over {seq} requests: {(used.ObjectWrites + used.StatusWrites) / (double)seq:F2} object writes "
                + $"(incl. the client's own patch), {used.EventWrites / (double)seq:F2} Event writes, {used.Reads / (double)seq:F2} reads per request.");
            _notes.Add("e2e define+start and delete are not timed: creating a VM end to end needs disks and a kvm/qemu domain (createAndStartVMFromISO), "
                + "the direct/virsh columns define a disk-less domain.");
        }
        finally
        {
            BenchDomains.Remove(conn, name);

            await host.StopAsync();
        }
    }
}

/// <summary>Helpers shared by the latency benchmarks.</summary>
internal static class BenchDomains
{
    /// <summary>Destroys (when running) and undefines the domain <paramref name="name"/> if it exists.</summary>
    public static void Remove(LibvirtConnection conn, string name)
    {
        using var dom = conn.TryLookupDomainByName(name);
        if (dom is null)
        {
            return;
        }

        if (dom.IsActive())
        {
            dom.Destroy();
        }

        dom.Undefine();
    }
}

internal sealed record LatencyResult(string Target, int Repetitions, Dictionary<string, Summary> Samples, List<string> Notes)
{
    /// <summary>The table's rows (default: <see cref="LatencyBench.Operations"/>).</summary>
    public string[] Operations { get; init; } = LatencyBench.Operations;
}
