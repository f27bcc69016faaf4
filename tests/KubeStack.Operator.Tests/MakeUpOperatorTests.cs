using CliWrap;
using CliWrap.Buffered;
using KubeStack.ApiEmulator;

namespace KubeStack.Operator.Tests;

/// <summary>`make up` (hack/up.sh) runs the operator as a process, registers its webhook with the emulator, and `make down` stops it.</summary>
public sealed class MakeUpOperatorTests
{
    // Passes the CRD schema; only the webhook knows that the pool does not exist.
    private const string BadDisk = """
        apiVersion: doslab.io/v1
        kind: VirtualMachineDisk
        metadata: {name: disk-bad}
        spec:
          lifecycle:
            createDisk: {type: localfs, pool: pool-missing, capacity: "10737418240", format: qcow2}
        """;

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "KubeStack.Operator.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("no KubeStack.Operator.sln above the test binaries");
    }

    private static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        var text = File.ReadAllText(stat);
        return text[(text.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
    }

    [SkippableFact]
    public async Task Make_up_starts_a_leading_operator_whose_webhook_refuses_a_bad_kubectl_apply_and_make_down_stops_it()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        var root = RepoRoot();
        var state = Directory.CreateTempSubdirectory("kubestack-up-operator-").FullName;
        var env = new Dictionary<string, string?>
        {
            ["KUBESTACK_STATE_DIR"] = state,
            ["KUBESTACK_SKIP_BUILD"] = "1",
            ["KUBESTACK_API_ONLY"] = "1",
            ["KUBESTACK_WITH_OPERATOR"] = "1",
            ["KUBESTACK_EMULATOR_DLL"] = Path.Combine(AppContext.BaseDirectory, "KubeStack.ApiEmulator.dll"),
            ["KUBESTACK_OPERATOR_DLL"] = Path.Combine(AppContext.BaseDirectory, "KubeStack.Operator.dll"),
            ["KUBECONFIG"] = null,
            ["HOME"] = state,
        };
        var pids = new List<int>();
        try
        {
            var up = await Cli.Wrap(Path.Combine(root, "hack", "up.sh")).WithEnvironmentVariables(env)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(180)).Token);
            Assert.True(up.ExitCode == 0, $"up.sh failed:\n{up.StandardOutput}\n{up.StandardError}");
            Assert.Contains("admission webhook https://127.0.0.1:", up.StandardOutput, StringComparison.Ordinal);
            foreach (var name in new[] { "api-emulator", "operator" })
            {
                pids.Add(int.Parse(await File.ReadAllTextAsync(Path.Combine(state, "pids", $"{name}.pid")), System.Globalization.CultureInfo.InvariantCulture));
            }

            Assert.All(pids, pid => Assert.True(IsRunning(pid)));
            using var kubectl = Kubectl.ForKubeconfig(Path.Combine(state, "kubeconfig"));
            var lease = await kubectl.OkAsync("get", "lease", "-n", "kubestack-system", "kubestack-operator", "-o", "jsonpath={.spec.holderIdentity}");
            Assert.StartsWith("operator-", lease, StringComparison.Ordinal);

            var bad = await kubectl.RunAsync(["apply", "-f", "-"], BadDisk);
            Assert.NotEqual(0, bad.ExitCode);
            Assert.True(bad.Stderr.Contains("denied the request", StringComparison.Ordinal), bad.ToString());
            Assert.Contains("VirtualMachinePool 'pool-missing', which does not exist", bad.Stderr, StringComparison.Ordinal);

            var down = await Cli.Wrap(Path.Combine(root, "hack", "down.sh")).WithEnvironmentVariables(env)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            Assert.True(down.ExitCode == 0, $"down.sh failed:\n{down.StandardOutput}\n{down.StandardError}");
            Assert.All(pids, pid => Assert.False(IsRunning(pid), $"pid {pid} still running after down.sh"));
        }
        finally
        {
            foreach (var pid in pids.Where(IsRunning))
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill(); // only processes this test's up.sh started
            }

            Directory.Delete(state, recursive: true);
        }
    }
}
