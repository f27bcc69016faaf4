using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Ftp;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
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
        using (var first = AgentRun.Start(kubeconfig))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await proxy.WhenRelayedAsync(3_000_000).WaitAsync(cts.Token);
            first.Kill();
            outputs.AppendLine(first.Output);
        }

        // killed mid-upload: a partial data file, no manifest (the version is not published)
        Assert.True(File.Exists(serverData), "the upload had started");
        Assert.InRange(new FileInfo(serverData).Length, 1, dataLength - 1);
        Assert.False(File.Exists(Path.Combine(serverDir, "manifest.json")));
        var interrupted = await cluster.GetAsync(Kinds.VirtualMachinePool, kit.PoolName);
        Assert.Equal(RequestPhase.Running, interrupted!.Status!.Lifecycle!.Phase);

        proxy.BytesPerSecond = null;
        using (var second = AgentRun.Start(kubeconfig))
        {
            var done = await cluster.WaitForAsync(Kinds.VirtualMachinePool, kit.PoolName,
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed,
                "the resumed pushRemoteBackup finishing");
            second.Kill();
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

    /// <summary>The built node agent run with <c>dotnet</c> (no shell), its output collected; <see cref="Kill"/> is SIGKILL.</summary>
    private sealed class AgentRun : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private AgentRun(Process process) => _process = process;

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

        public static AgentRun Start(string kubeconfig)
        {
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = Path.Combine(StorageAgentHarness.RepoRoot, "node-agent", "src", "KubeStack.NodeAgent", "bin", tfm.Parent!.Name, tfm.Name, "KubeStack.NodeAgent.dll");
            Assert.True(File.Exists(dll), $"The node agent is not built at {dll}.");
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(kubeconfig)!,
            };
            foreach (var arg in new[] { dll, "--node", StorageAgentHarness.Node, "--kubeconfig", kubeconfig, "--libvirt-uri", LabEnvironment.SystemUri })
            {
                start.ArgumentList.Add(arg);
            }

            foreach (var variable in new[] { CrashPoints.EnvironmentVariable, "NODE_NAME", KubeStack.NodeAgent.Runtime.Testing.TestHandlerSettings.OperationsVariable })
            {
                start.Environment.Remove(variable);
            }

            start.Environment["KUBESTACK_RETRY_BASE_MS"] = "50";
            start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
            var process = new Process { StartInfo = start };
            var run = new AgentRun(process);
            process.OutputDataReceived += (_, e) => run.Append(e.Data);
            process.ErrorDataReceived += (_, e) => run.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return run;
        }

        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
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
