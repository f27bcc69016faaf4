using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.Reliability.Tests;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Hostile;

/// <summary>
/// Hostile input past admission into a RUNNING agent (docs/reliability.md): the generator of HostileCases, and path and
/// shell-payload attacks, sent to the built agent process with every real handler on qemu:///system, with neither the
/// webhook nor the CRD's parameter schema in the way. Every request must end terminal exactly once; what admission
/// rejects must be refused again by the agent before any handler runs (VirtctlError naming the field); what admission
/// accepts must end Succeeded or Failed with a class other than Exception; no payload ever acts as shell or option
/// syntax (no canary file, nothing new on the host that carries the run's name or a payload), the canary directory that
/// symlinks in the pool point to never changes, and the agent is still alive and serves a valid request afterwards.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class HostileAgentTests(HostileAgentLab lab, ITestOutputHelper output) : IClassFixture<HostileAgentLab>
{
    private static LifecycleCatalog Catalog => CatalogLoader.Default;

    /// <summary>The catalog baseline with every reference pointed at the lab's own pool, volume and VM, remote hosts at the
    /// lab's FTP server, and files at a missing file in the lab pool: nothing a hostile request does can reach other suites.</summary>
    private JsonObject HostBaseline(OperationSpec op)
    {
        var body = HostileCases.Baseline(op);
        foreach (var (name, _) in body.ToList())
        {
            var p = op.Parameter(name)!;
            body[name] = (p.Rule?.References, name, p.Rule?.Format) switch
            {
                (Kinds.VirtualMachinePool, _, _) => lab.Pool,
                (Kinds.VirtualMachine, _, _) => lab.Vm,
                (Kinds.VirtualMachineDisk, _, _) => lab.Disk,
                (_, "remote" or "ip", _) => "127.0.0.1",
                (_, "port", _) => "2121",
                (_, "url", _) => $"/mnt/localfs/{lab.Prefix}-newpool",
                (_, _, "path" or "diskList") when p.Type == ParameterType.String && (p.Rule?.Pattern is null || p.Rule.Pattern.StartsWith("^/", StringComparison.Ordinal))
                    => $"{lab.PoolPath}/missing-{name}.qcow2",
                _ => body[name]!.DeepClone(),
            };
        }

        if (op.Key == "createPool")
        {
            body["type"] = "localfs";
        }

        // the switches that say "do it" (insertISO.insert, ejectISO.eject, ...): on, so a request reaches its paths
        // (each only where the baseline stays valid: manageISO takes insert or eject, not both)
        foreach (var p in op.Parameters.Where(p => p.Required && p.Type == ParameterType.Boolean))
        {
            var was = body[p.Name]!.DeepClone();
            body[p.Name] = true;
            if (!Admitted(op, HostileCases.Spec(op.Key, body.DeepClone())))
            {
                body[p.Name] = was;
            }
        }

        return body;
    }

    private static bool Admitted(OperationSpec op, JsonObject spec) => RequestValidator.Validate(op.Kind, "kst-hostile-name-1", spec).Count == 0;

    private HostileRequest Request(string category, HostileCase c) => Request(category, c.Operation, c.Label, c.Spec, c.Parameter);

    private HostileRequest Request(string category, OperationSpec op, string label, JsonObject spec, string? parameter)
    {
        var admitted = Admitted(op, spec);
        var onTarget = admitted && op.Effect == OperationEffect.Update && lab.Targets.ContainsKey(op.Kind);
        return new HostileRequest(category, label, op.Kind, op.Key, spec, admitted, parameter, onTarget);
    }

    [LabFact]
    public async Task Requests_admission_accepts_reach_the_agent_and_end_cleanly_with_their_free_text_inert()
    {
        var requests = Catalog.Operations
            .SelectMany(op => HostileCases.ParameterCases(op, HostBaseline))
            .Select(c => Request("accepted", c))
            .Where(r => r.Admitted)
            .ToList();
        Assert.True(requests.Count >= 50, $"only {requests.Count} generated cases pass admission");
        await RunAndCheckAsync("accepted by admission", requests);
    }

    [LabFact]
    public async Task Requests_admission_rejects_are_refused_again_by_the_agent_before_any_handler_runs()
    {
        var requests = new List<HostileRequest>();
        foreach (var op in Catalog.Operations)
        {
            Assert.True(Admitted(op, HostileCases.Spec(op.Key, HostBaseline(op))), $"{op.Key}: the lab baseline is not valid");
            // Left out: "lifecycle as a string" (the CRD types spec.lifecycle as an object in every schema version) and
            // "parameters as an array" (the same agent check as "parameters as a string").
            requests.AddRange(HostileCases.ShapeCases(op, HostBaseline)
                .Where(c => c.Description is not ("lifecycle as a string" or "parameters as an array")).Select(c => Request("rejected", c)));
            var i = 0;
            foreach (var group in HostileCases.ParameterCases(op, HostBaseline).GroupBy(c => (c.Parameter, c.Kind)))
            {
                // a sample: one wrong JSON type and one hostile string per parameter (rotating), every out-of-range value
                var sample = group.Key.Kind == HostileCaseKind.OutOfRange ? group.ToList() : [group.ElementAt(i++ % group.Count())];
                requests.AddRange(sample.Select(c => Request("rejected", c)).Where(r => !r.Admitted));
            }
        }

        await RunAndCheckAsync("rejected by admission", requests);
    }

    [LabFact]
    public async Task Path_traversal_paths_outside_the_roots_and_symlinks_out_of_the_pool_are_refused_and_the_canary_never_changes()
    {
        var escapeDir = Path.Combine(lab.PoolPath, "escape");
        var escapeFile = Path.Combine(lab.PoolPath, "link.qcow2");
        var before = await HostState.CaptureAsync(lab, lab.Connection);
        File.CreateSymbolicLink(escapeDir, lab.CanaryDir);
        File.CreateSymbolicLink(escapeFile, Path.Combine(lab.CanaryDir, "victim.qcow2"));
        var swapped = new List<string>();
        try
        {
            var requests = new List<HostileRequest>();
            var pathParameters = Catalog.Operations.SelectMany(op => op.Parameters.Select(p => (op, p)))
                .Where(x => x.p.Rule?.Format is "path" or "diskList" or "poolUrl"
                            && (x.p.Rule.Pattern is null or "^[!-~]+$" || x.p.Rule.Pattern.StartsWith("^/", StringComparison.Ordinal)))
                .ToList();
            foreach (var (op, p) in pathParameters)
            {
                var values = new (string Label, string Value)[]
                {
                    ("../ traversal", $"{lab.PoolPath}/../../../etc/passwd"),
                    ("outside the roots", "/etc/passwd"),
                    ("the canary directory", Path.Combine(lab.CanaryDir, "victim.qcow2")),
                    ("a symlinked directory out of the pool", Path.Combine(escapeDir, "victim.qcow2")),
                    ("a symlinked file out of the pool", escapeFile),
                };
                foreach (var (label, value) in values)
                {
                    var spec = HostileCases.With(op, p.Name, JsonValue.Create(op.Key == "createPool" && label.StartsWith("a symlinked directory", StringComparison.Ordinal) ? escapeDir : value), HostBaseline);
                    requests.Add(Request("path", op, $"{op.Key}.{p.Name}: {label}", spec, p.Name));
                }

                // admitted as a plain file, then swapped for a symlink to the canary before the agent sees it
                var swap = Path.Combine(lab.PoolPath, $"swap-{swapped.Count}.qcow2");
                File.WriteAllText(swap, "");
                swapped.Add(swap);
                var swapSpec = HostileCases.With(op, p.Name, JsonValue.Create(swap), HostBaseline);
                var admitted = Request("path", op, $"{op.Key}.{p.Name}: a symlink swapped in after admission", swapSpec, p.Name);
                File.Delete(swap);
                File.CreateSymbolicLink(swap, Path.Combine(lab.CanaryDir, "victim.qcow2"));
                requests.Add(admitted);
            }

            var outcomes = await lab.SendAllAsync(requests);
            var failures = CheckOutcomes(outcomes);
            failures.AddRange(outcomes.Where(o => o.Phase == RequestPhase.Succeeded)
                .Select(o => $"{o.Request.Label}: Succeeded ({o.Message}) — a path out of the allowed roots must be refused"));
            // A refusal names the parameter or the refused path, unless the request stopped earlier at the lab
            // baseline's placeholder file (a missing disk: the create-VM operations check their disks first).
            bool Names(HostileOutcome o) => o.Message is { } m && (m.Contains(o.Request.Parameter!, StringComparison.Ordinal)
                                                                   || m.Contains(PathIn(o.Request), StringComparison.Ordinal));
            bool Earlier(HostileOutcome o) => o.Message is { } m && (m.Contains("/missing-", StringComparison.Ordinal) || m.Contains("installation CD", StringComparison.Ordinal));
            failures.AddRange(outcomes.Where(o => !Names(o) && !Earlier(o)).Select(o => $"{o.Request.Label}: the refusal names neither the parameter nor the path: {o.Message}"));
            output.WriteLine($"path attacks: {outcomes.Count(Names)} refused naming the parameter or the path, {outcomes.Count(o => !Names(o) && Earlier(o))} stopped earlier at the baseline's missing disk");
            Report("path attacks", outcomes, failures);
        }
        finally
        {
            File.Delete(escapeDir);
            File.Delete(escapeFile);
            swapped.ForEach(File.Delete);
        }

        await FinishAsync(before);
    }

    [LabFact]
    public async Task Shell_metacharacters_newlines_and_option_like_values_in_every_string_never_act_as_syntax_on_the_host()
    {
        var c = lab.CanaryPrefix;
        string[] payloads =
        [
            $"$(touch {c}-1)", $";touch${{IFS}}{c}-2", $"`touch {c}-3`", $"x\ntouch {c}-4", $"-o{c}-5",
        ];
        var requests = Catalog.Operations
            .SelectMany(op => op.Parameters.Where(p => p.Type == ParameterType.String)
                .SelectMany(p => payloads.Select(v => Request("payload", op, $"{op.Key}.{p.Name}: {HostileCases.Show(v)}",
                    HostileCases.With(op, p.Name, JsonValue.Create(v), HostBaseline), p.Name))))
            .ToList();
        await RunAndCheckAsync("shell payloads", requests);
    }

    private static string PathIn(HostileRequest r) =>
        (string?)r.Spec["lifecycle"]![r.Key]![r.Parameter!] ?? throw new InvalidOperationException($"{r.Label} carries no path");

    private async Task RunAndCheckAsync(string category, IReadOnlyList<HostileRequest> requests)
    {
        var before = await HostState.CaptureAsync(lab, lab.Connection);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcomes = await lab.SendAllAsync(requests);
        output.WriteLine($"{category}: {outcomes.Count} requests ended in {clock.Elapsed.TotalSeconds:0.0} s");
        Report(category, outcomes, CheckOutcomes(outcomes));
        await FinishAsync(before);
    }

    /// <summary>The per-request invariants: terminal once; refused before any handler when admission rejects; never Exception.</summary>
    private static List<string> CheckOutcomes(IReadOnlyList<HostileOutcome> outcomes)
    {
        var failures = new List<string>();
        foreach (var o in outcomes)
        {
            var r = o.Request;
            if (o.Phase is not (RequestPhase.Succeeded or RequestPhase.Failed) || o.TerminalEvents != 1)
            {
                failures.Add($"{r.Label}: not terminal exactly once (phase {o.Phase}, {o.TerminalEvents} outcome Events)");
            }

            if (o.Reason == ErrorClasses.Exception)
            {
                failures.Add($"{r.Label}: failed with class Exception: {o.Message}");
            }

            if (!r.Admitted)
            {
                if (o.Phase != RequestPhase.Failed || o.Reason != ErrorClasses.VirtctlError || o.Started)
                {
                    failures.Add($"{r.Label}: admission rejects it, but the agent {(o.Started ? "started a handler" : "did not refuse it")}: {o.Phase} {o.Reason}: {o.Message}");
                }
                else if (r.Parameter is { } field && o.Message?.Contains(field, StringComparison.Ordinal) != true)
                {
                    failures.Add($"{r.Label}: the refusal does not name {field}: {o.Message}");
                }
            }
        }

        return failures;
    }

    private void Report(string category, IReadOnlyList<HostileOutcome> outcomes, List<string> failures)
    {
        var byClass = outcomes.GroupBy(o => o.Phase == RequestPhase.Succeeded ? (o.Deleted ? "Succeeded (deleted)" : "Succeeded") : $"Failed {o.Reason}")
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}");
        output.WriteLine($"{category}: {outcomes.Count} requests ({outcomes.Count(o => o.Request.Admitted)} pass admission, " +
                         $"{outcomes.Count(o => o.Request.OnTarget)} on the lab's existing objects, {outcomes.Select(o => o.Request.Key).Distinct().Count()} operation keys); " +
                         $"{outcomes.Count(o => o.Started)} reached a handler; {string.Join(", ", byClass)}");
        foreach (var o in outcomes.Where(o => o.Request.Admitted).Take(400))
        {
            output.WriteLine($"  {o.Request.Label} -> {o.Phase} {o.Reason}: {Shorten(o.Message)}");
        }

        failures.ForEach(f => output.WriteLine("FAIL " + f));
        Assert.True(failures.Count == 0, $"{failures.Count} of {outcomes.Count} {category} requests broke an invariant; first: {failures.FirstOrDefault()}");
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length > 300 ? text[..300] + "..." : text;

    /// <summary>After a run: the run's objects deleted (the agent cleans their host side), then no canary, nothing new or
    /// changed on the host, and the agent alive and serving.</summary>
    private async Task FinishAsync(HostState before)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await lab.DeleteRunObjectsAsync();
        output.WriteLine($"objects deleted in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Empty(HostState.CanaryFiles(lab));
        var changes = (await HostState.CaptureAsync(lab, lab.Connection)).ChangesSince(before);
        changes.ToList().ForEach(ch => output.WriteLine("HOST " + ch));
        Assert.Empty(changes);
        await lab.AssertAgentServesAValidRequestAsync();
        Assert.Empty(HostState.CanaryFiles(lab));
    }
}
