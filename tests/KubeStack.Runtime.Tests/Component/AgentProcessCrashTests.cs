using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
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

    /// <summary>The built node agent (KubeStack.NodeAgent.dll next to the tests) run with <c>dotnet</c>, no shell.</summary>
    private sealed class AgentProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private AgentProcess(Process process)
        {
            _process = process;
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static AgentProcess Start(string kubeconfig, string stateDir, string? crashAt)
        {
            var dll = AgentDll();
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(kubeconfig)!,
            };
            foreach (var arg in new[] { dll, "--node", Node, "--kubeconfig", kubeconfig })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove(CrashPoints.EnvironmentVariable);
            start.Environment.Remove("NODE_NAME");
            if (crashAt is not null)
            {
                start.Environment[CrashPoints.EnvironmentVariable] = crashAt;
            }

            start.Environment[TestHandlerSettings.OperationsVariable] = "VirtualMachineDisk/createDisk";
            start.Environment[TestHandlerSettings.StateDirVariable] = stateDir;
            start.Environment["KUBESTACK_RETRY_BASE_MS"] = "50";
            start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
            var process = new Process { StartInfo = start };
            var agent = new AgentProcess(process);
            process.OutputDataReceived += (_, e) => agent.Append(e.Data);
            process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return agent;
        }

        /// <summary>
        /// The agent as built in its own project (same configuration and framework as these tests): its runtimeconfig
        /// and dependencies are complete there, unlike the copy next to the tests (which run on the ASP.NET framework).
        /// </summary>
        private static string AgentDll()
        {
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfm.Parent!.Name;
            var dll = Path.Combine(RepoPaths.Root, "node-agent", "src", "KubeStack.NodeAgent", "bin", configuration, tfm.Name, "KubeStack.NodeAgent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"The node agent is not built at {dll}.", dll);
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Stop();
                throw new TimeoutException($"The agent did not exit within {timeout}. Output:\n{Output}");
            }

            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Stop()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public void Dispose()
        {
            Stop();
            _process.Dispose();
        }
    }
}
