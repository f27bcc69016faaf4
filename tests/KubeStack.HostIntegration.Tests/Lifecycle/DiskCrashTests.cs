using System.Diagnostics;
using System.Text;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Lifecycle;

/// <summary>
/// createDisk with the real agent process (the built KubeStack.NodeAgent, real handlers, qemu:///system) killed right
/// after the host call and before the outcome is written (KUBESTACK_CRASH_AT=after-host-call), then started again:
/// the request ends Succeeded once, with exactly one volume.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class DiskCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kst-disk-crash-").FullName;

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

    [LabFact]
    public async Task CreateDisk_with_the_agent_killed_after_the_host_call_ends_Succeeded_once_with_exactly_one_volume()
    {
        await using var cluster = await StorageAgentHarness.StartAsync(runAgent: false);
        using var cleanup = new LibvirtCleanup(cluster.Connection);
        var (poolName, poolPath) = cluster.NewDirPool(cleanup);

        var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        var diskName = LabEnvironment.UniqueName("disk");
        await cluster.ApplyAsync(Kinds.VirtualMachineDisk, diskName, "createDisk", StorageRequests.CreateDisk(poolName), eventId: "crash-disk-1");

        using (var crashing = AgentProcess.Start(kubeconfig, CrashPoints.AfterHostCall))
        {
            var exit = await crashing.WaitForExitAsync(TimeSpan.FromSeconds(90));
            output.WriteLine(crashing.Output);
            Assert.True(exit != 0, $"the agent should have crashed; it exited {exit}.");
            Assert.Contains($"{CrashPoints.EnvironmentVariable}={CrashPoints.AfterHostCall} reached", crashing.Output, StringComparison.Ordinal);
        }

        // the host call happened, the outcome was not written
        var diskPath = Path.Combine(poolPath, diskName);
        Assert.True(File.Exists(diskPath));
        var interrupted = await cluster.GetAsync(Kinds.VirtualMachineDisk, diskName);
        Assert.NotNull(interrupted!.Spec.Lifecycle);
        Assert.Equal(RequestPhase.Running, interrupted.Status!.Lifecycle!.Phase);

        using (var restarted = AgentProcess.Start(kubeconfig, crashAt: null))
        {
            var done = await cluster.WaitForAsync(Kinds.VirtualMachineDisk, diskName,
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed && o.Spec.Status is not null,
                "the resumed createDisk finishing");
            restarted.Stop();
            output.WriteLine(restarted.Output);

            Assert.True(done.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, done.Status.Lifecycle.Message);
            Assert.Equal(2, done.Status.Lifecycle.Attempts);
            Assert.Equal("crash-disk-1", done.Status.Lifecycle.EventId);
            Assert.Equal(diskPath, (string?)done.Spec.Volume!["filename"]);
            Assert.Single(await cluster.EventsAsync(diskName), e => e.Reason == EventReasons.LifecycleSucceeded);
        }

        Assert.Equal([diskName], Directory.GetFiles(poolPath).Select(Path.GetFileName));
        using (var pool = cluster.Connection.LookupStoragePoolByName(poolName))
        {
            pool.Refresh();
            Assert.Equal([diskName], pool.ListAllVolumes().Select(v =>
            {
                using (v)
                {
                    return v.Name;
                }
            }));
        }

        var info = await QemuImg.Default.InfoAsync(diskPath);
        Assert.Equal(("qcow2", StorageRequests.OneGigabyte), (info.Format, info.VirtualSize));
    }

    /// <summary>The built node agent (its own bin folder) run with <c>dotnet</c>, no shell, on the lab's libvirtd.</summary>
    internal static class AgentProcess
    {
        public static CapturedProcess Start(string kubeconfig, string? crashAt) =>
            CapturedProcess.StartDotnet(CapturedProcess.BuiltAgentDll(StorageAgentHarness.RepoRoot),
                ["--node", StorageAgentHarness.Node, "--kubeconfig", kubeconfig, "--libvirt-uri", LabEnvironment.SystemUri],
                Path.GetDirectoryName(kubeconfig)!,
                new Dictionary<string, string?>
                {
                    [CrashPoints.EnvironmentVariable] = crashAt,
                    ["NODE_NAME"] = null,
                    [KubeStack.NodeAgent.Runtime.Testing.TestHandlerSettings.OperationsVariable] = null,
                    ["KUBESTACK_RETRY_BASE_MS"] = "50",
                    ["DOTNET_DbgEnableMiniDump"] = "0",
                });
    }
}
