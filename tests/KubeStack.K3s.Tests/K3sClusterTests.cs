using KubeStack.ApiEmulator;
using Testcontainers.K3s;

namespace KubeStack.K3s.Tests;

/// <summary>
/// The emulator's contract scenarios against a real kube-apiserver (K3s in a container): our generated CRDs are accepted
/// and served, and the contract's example request is stored and read back with kubectl. Runs where a Docker-compatible
/// engine answers (DOCKER_HOST, e.g. the lab's podman socket) and the K3s image can be had; otherwise skipped with the reason.
/// </summary>
public sealed class K3sClusterTests
{
    /// <summary>The K3s release the suite runs (pulled by the engine, or preloaded where there is no registry).</summary>
    private const string K3sImage = "rancher/k3s:v1.31.2-k3s1";

    private static readonly Lazy<Task<string?>> Unavailable = new(ProbeAsync);

    [SkippableFact]
    public async Task Generated_crds_and_the_contract_example_request_work_on_a_real_api_server()
    {
        var reason = await Unavailable.Value;
        Skip.If(reason is not null, reason);

        await using var k3s = new K3sBuilder(K3sImage).Build();
        await k3s.StartAsync();
        var dir = Directory.CreateTempSubdirectory("kst-k3s-").FullName;
        try
        {
            var kubeconfig = Path.Combine(dir, "kubeconfig");
            await File.WriteAllTextAsync(kubeconfig, await k3s.GetKubeconfigAsync());
            using var kubectl = Kubectl.ForKubeconfig(kubeconfig);
            var crds = Directory.GetFiles(Path.Combine(RepoRoot(), "crds"), "*.yaml");
            Assert.Equal(8, crds.Length);
            foreach (var crd in crds)
            {
                await kubectl.OkAsync("apply", "-f", crd);
            }

            await kubectl.OkAsync("wait", "--for", "condition=established", "--timeout=60s", "crd", "--all");
            await kubectl.OkStdinAsync("""
                apiVersion: doslab.io/v1
                kind: VirtualMachineDisk
                metadata: {name: disk0001, labels: {host: node31}}
                spec:
                  nodeName: node31
                  lifecycle:
                    createDisk: {type: localfs, pool: pooltest, capacity: "10737418240", format: qcow2}
                """, "apply", "-f", "-");
            var json = await kubectl.OkAsync("get", "vmd", "disk0001", "-o", "jsonpath={.spec.lifecycle.createDisk.capacity}");
            Assert.Equal("10737418240", json);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string?> ProbeAsync()
    {
        try
        {
            await using var probe = new K3sBuilder(K3sImage).Build();
            return null;
        }
        catch (Exception ex) when (ex.GetType().Name is "DockerUnavailableException" || ex is InvalidOperationException or ArgumentException)
        {
            await Task.CompletedTask;
            return $"no Docker-compatible engine here ({ex.GetType().Name}: {ex.Message.Split('\n')[0]}); the K3s suite needs one (see docs/testing.md)";
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (KubeStack.Operator.sln) was not found above the test binaries.");
    }
}
