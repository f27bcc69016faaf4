using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// backupVM with the real agent process (the built KubeStack.NodeAgent against the API emulator, qemu:///system)
/// killed inside the backup, after the data files and before the manifest (KUBESTACK_CRASH_AT=backup-before-manifest):
/// the version is left without manifest; the restarted agent replaces it, writes the manifest last, and the request
/// ends Succeeded once with a manifest whose checksums match its files.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class BackupCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kst-backup-crash-").FullName;

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
    public async Task BackupVM_with_the_agent_killed_before_the_manifest_is_completed_once_by_the_restarted_agent_and_never_points_at_partial_data()
    {
        await using var cluster = await StorageAgentHarness.StartAsync(runAgent: false);
        using var kit = await BackupTestKit.CreateAsync();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x5a, 0, 2 * BackupTestKit.MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0x5b, 0, 2 * BackupTestKit.MiB);
        var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        await cluster.ApplyAsync(Kinds.VirtualMachine, kit.VmName, "backupVM", kit.Backup("v1", full: true, all: true), eventId: "crash-backup-1");

        var versionDir = kit.VmVersionDir("v1");
        using (var crashing = DiskCrashTests.AgentProcess.Start(kubeconfig, CrashPoints.BackupBeforeManifest))
        {
            var exit = await crashing.WaitForExitAsync(TimeSpan.FromSeconds(120));
            output.WriteLine(crashing.Output);
            Assert.True(exit != 0, $"the agent should have crashed; it exited {exit}.");
            Assert.Contains($"{CrashPoints.EnvironmentVariable}={CrashPoints.BackupBeforeManifest} reached", crashing.Output, StringComparison.Ordinal);
        }

        // the data files were written, the manifest was not: the version is partial
        Assert.True(File.Exists($"{versionDir}/vda.qcow2"));
        Assert.False(File.Exists($"{versionDir}/{BackupManifest.FileName}"));
        var interrupted = await cluster.GetAsync(Kinds.VirtualMachine, kit.VmName);
        Assert.Equal(RequestPhase.Running, interrupted!.Status!.Lifecycle!.Phase);

        using (var restarted = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
        {
            var done = await cluster.WaitForAsync(Kinds.VirtualMachine, kit.VmName,
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
                "the resumed backupVM finishing");
            restarted.Stop();
            output.WriteLine(restarted.Output);
            Assert.True(done.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, done.Status.Lifecycle.Message);
            Assert.Equal(2, done.Status.Lifecycle.Attempts);
            Assert.Single(await cluster.EventsAsync(kit.VmName), e => e.Reason == EventReasons.LifecycleSucceeded);
        }

        var manifest = await kit.ManifestAsync(versionDir);
        Assert.Equal(["vda", "vdb"], manifest.Disks.Select(d => d.Target));
        Assert.Equal([BackupManifest.FileName, "vda.qcow2", "vdb.qcow2"], Directory.GetFileSystemEntries(versionDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var disk in manifest.Disks)
        {
            Assert.Equal(await BackupFiles.Sha256Async($"{versionDir}/{disk.File}"), disk.Sha256);
        }

        var compare = await HostToolRunner.Default.RunAsync("qemu-img", ["compare", "-U", kit.SystemDisk, $"{versionDir}/vda.qcow2"], CancellationToken.None);
        Assert.Equal(0, compare.ExitCode);
        await BackupTestKit.AssertReadsAsync($"{versionDir}/vdb.qcow2", 0x5b, 0, 2 * BackupTestKit.MiB);
    }
}
