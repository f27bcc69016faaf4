using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Runtime.Testing;
using KubeStack.Runtime.Tests.Agent;
using Xunit.Abstractions;

namespace KubeStack.Runtime.Tests.Component;

/// <summary>
/// Crash tests with the real agent process: it is started against the API emulator with a crash point
/// (KUBESTACK_CRASH_AT) and the recording test handler, dies there, is started again, and the request must end
/// Succeeded exactly once with its host object made once.
/// </summary>
public sealed class AgentProcessCrashTests(ITestOutputHelper output) : IDisposable
{
    private const string Node = "node1";
    private readonly string _dir = Directory.CreateTempSubdirectory("kubestack-crash-").FullName;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00}s {what}");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(CrashPoints.AfterClaim, 1)]
    [InlineData(CrashPoints.AfterHostCall, 2)]
    [InlineData(CrashPoints.AfterStatus, 1)]
    public async Task The_agent_killed_at_a_crash_point_and_restarted_ends_the_request_Succeeded_exactly_once(string point, int handlerRuns)
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        var state = Path.Combine(_dir, "handler");
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk", new JsonObject
        {
            ["type"] = "localfs",
            ["pool"] = "pool1",
            ["capacity"] = "10737418240",
            ["format"] = "qcow2",
        }, eventId: "crash-1"));

        Step("emulator up, request submitted");
        using (var crashing = AgentProcess.Start(kubeconfig, state, crashAt: point))
        {
            var exit = await crashing.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Step($"first agent exited with {exit}");
            output.WriteLine(crashing.Output);
            Assert.True(exit != 0, $"the agent should have crashed at {point}; it exited {exit}. Output:\n{crashing.Output}");
            Assert.Contains($"KUBESTACK_CRASH_AT={point} reached", crashing.Output, StringComparison.Ordinal);
        }

        var interrupted = await cluster.GetAsync(Kinds.VirtualMachineDisk, "disk1");
        Assert.NotNull(interrupted!.Spec.Lifecycle);

        using (var restarted = AgentProcess.Start(kubeconfig, state, crashAt: null))
        {
            Step("second agent started");
            var done = await cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1",
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase == RequestPhase.Succeeded, "the resumed request finishing",
                TimeSpan.FromSeconds(60));
            // Let the agent settle: it must not run the request again once it is recorded.
            await cluster.WaitForAsync(Kinds.VirtualMachineDisk, "disk1", o => o.Spec.Status?.Status == "Success", "the seed view");
            Step("request finished");
            restarted.Stop();
            Step("second agent stopped");
            output.WriteLine(restarted.Output);

            var log = File.ReadAllLines(Path.Combine(state, "invocations.log"));
            Assert.Equal(handlerRuns, log.Count(l => l.StartsWith("invoke ", StringComparison.Ordinal)));
            Assert.Single(log, l => l.StartsWith("create ", StringComparison.Ordinal));
            Assert.Equal("crash-1", done.Status!.Lifecycle!.EventId);
            Assert.Equal([Finalizers.HostCleanup], done.Metadata.Finalizers);
            Assert.Equal("disk1", (string?)done.Spec.Volume!["name"]);
            var events = await cluster.EventsForAsync("disk1");
            Assert.Single(events, e => e.Reason == EventReasons.LifecycleSucceeded);
        }
    }

    /// <summary>The built node agent run with <c>dotnet</c>, no shell, serving createDisk with the test handler.</summary>
    private static class AgentProcess
    {
        public static CapturedProcess Start(string kubeconfig, string stateDir, string? crashAt) =>
            CapturedProcess.StartDotnet(CapturedProcess.BuiltAgentDll(RepoPaths.Root),
                ["--node", Node, "--kubeconfig", kubeconfig],
                Path.GetDirectoryName(kubeconfig)!,
                new Dictionary<string, string?>
                {
                    [CrashPoints.EnvironmentVariable] = crashAt,
                    ["NODE_NAME"] = null,
                    [TestHandlerSettings.OperationsVariable] = "VirtualMachineDisk/createDisk",
                    [TestHandlerSettings.StateDirVariable] = stateDir,
                    ["KUBESTACK_RETRY_BASE_MS"] = "50",
                    ["DOTNET_DbgEnableMiniDump"] = "0",
                });
    }
}
