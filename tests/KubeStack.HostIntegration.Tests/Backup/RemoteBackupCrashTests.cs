using System.Text;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Ftp;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Events;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// pushRemoteBackup with the real agent process (the built KubeStack.NodeAgent against the API emulator, real
/// libvirt pool, the lab's vsftpd behind a slowed relay) killed (SIGKILL) in the middle of the data file's upload:
/// the server then holds a partial data file and no manifest; the restarted agent resumes the upload from the server's
/// size, publishes the manifest last, and the request ends Succeeded once. The password appears nowhere: not in the
/// object, its status, the Events or the agent's output.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RemoteBackupCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kst-remote-crash-").FullName;

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

    [RemoteLabFact]
    public async Task PushRemoteBackup_with_the_agent_killed_mid_upload_resumes_and_the_remote_manifest_never_points_at_partial_data()
    {
        await using var cluster = await StorageAgentHarness.StartAsync(runAgent: false);
        using var kit = new RemoteBackupKit();
        var domain = kit.NewDomain();
        var manifest = await kit.WriteVersionAsync(domain, null, "v1", pattern: 0x6b, dataBytes: 12L * 1024 * 1024);
        var dataLength = manifest.Disks[0].Bytes;
        await using var proxy = new FtpDropProxy { BytesPerSecond = 4_000_000 };

        var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        var request = RemoteBackupKit.Request(new JsonObject { ["domain"] = domain, ["pool"] = kit.PoolName, ["version"] = "v1" }, proxy.Port);
        await cluster.ApplyAsync(Kinds.VirtualMachinePool, kit.PoolName, "pushRemoteBackup", request, eventId: "crash-push-1");

        var serverDir = RemoteBackupKit.ServerVersionDir(domain, null, "v1");
        var serverData = Path.Combine(serverDir, "vda.qcow2");
        var outputs = new StringBuilder();
        using (var first = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await proxy.WhenRelayedAsync(3_000_000).WaitAsync(cts.Token);
            first.Stop();
            outputs.AppendLine(first.Output);
        }

        // killed mid-upload: a partial data file, no manifest (the version is not published)
        Assert.True(File.Exists(serverData), "the upload had started");
        Assert.InRange(new FileInfo(serverData).Length, 1, dataLength - 1);
        Assert.False(File.Exists(Path.Combine(serverDir, "manifest.json")));
        var interrupted = await cluster.GetAsync(Kinds.VirtualMachinePool, kit.PoolName);
        Assert.Equal(RequestPhase.Running, interrupted!.Status!.Lifecycle!.Phase);

        proxy.BytesPerSecond = null;
        using (var second = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
        {
            var done = await cluster.WaitForAsync(Kinds.VirtualMachinePool, kit.PoolName,
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
                "the resumed pushRemoteBackup finishing");
            second.Stop();
            outputs.AppendLine(second.Output);
            output.WriteLine(outputs.ToString());

            Assert.True(done.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, done.Status.Lifecycle.Message);
            Assert.Equal(2, done.Status.Lifecycle.Attempts);
            Assert.Contains("1 interrupted transfer(s) resumed", done.Status.Lifecycle.Message, StringComparison.Ordinal);
            Assert.Single(await cluster.EventsAsync(kit.PoolName), e => e.Reason == EventReasons.LifecycleSucceeded);

            var everything = KubernetesJson.Serialize(done) + string.Join('\n', (await cluster.EventsAsync(kit.PoolName)).Select(e => e.Message)) + outputs;
            Assert.DoesNotContain(FtpLab.Password, everything, StringComparison.Ordinal);
        }

        Assert.Equal(manifest.Disks[0].Sha256, FtpLab.Sha256(serverData));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(kit.LocalVersionDir(domain, null, "v1"), "manifest.json")),
            await File.ReadAllTextAsync(Path.Combine(serverDir, "manifest.json")));
        Assert.Equal(["manifest.json", "vda.qcow2", "vda.qcow2.sha256"], Directory.GetFiles(serverDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}

/// <summary>Runs when both the host lab (libvirtd, built guest) and the lab FTP server are up.</summary>
public sealed class RemoteLabFactAttribute : FactAttribute
{
    public RemoteLabFactAttribute()
    {
        if ((LabEnvironment.WhyNoLab ?? FtpLab.WhyNoFtp) is { } reason)
        {
            Skip = reason;
        }
    }
}
