using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>The emulator as a process (the local stack), and `make up` / `make down` (hack/up.sh, hack/down.sh).</summary>
public sealed class StandaloneTests
{
    static readonly string EmulatorDll = Path.Combine(AppContext.BaseDirectory, "KubeStack.ApiEmulator.dll");

    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "KubeStack.Operator.sln"))) return d.FullName;
        throw new InvalidOperationException("no KubeStack.Operator.sln above the test binaries");
    }

    [SkippableFact]
    public async Task Emulator_process_prints_its_url_writes_the_kubeconfig_registers_crds_and_stops_on_SIGTERM()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        var dir = Directory.CreateTempSubdirectory("kubestack-standalone-").FullName;
        try
        {
            var crds = Directory.CreateDirectory(Path.Combine(dir, "crds")).FullName;
            await File.WriteAllTextAsync(Path.Combine(crds, "vm.yaml"), TestCrds.VirtualMachineYaml);
            var kubeconfig = Path.Combine(dir, "kubeconfig");
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new StringBuilder();
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { EmulatorDll, "--port", "0", "--kubeconfig", kubeconfig, "--crds", crds }) psi.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(psi)!;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (output) output.AppendLine(e.Data);
                if (e.Data.StartsWith("listening on ", StringComparison.Ordinal)) listening.TrySetResult(e.Data["listening on ".Length..]);
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                var url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
                var get = await Cli.Wrap(Kubectl.Path).WithArguments(["--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(dir, "cache"), "get", "crd", "-o", "name"])
                    .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
                Assert.Equal("customresourcedefinition.apiextensions.k8s.io/virtualmachines.doslab.io", get.StandardOutput.Trim());

                var kill = await Cli.Wrap("kill").WithArguments(["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                    .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
                Assert.Equal(0, kill.ExitCode);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(0, process.ExitCode);
            }
            finally
            {
                if (!process.HasExited) process.Kill();
            }
            lock (output)
            {
                Assert.Contains("registered 1 CRDs", output.ToString());
                Assert.Contains("stopping", output.ToString());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        string text;
        try { text = File.ReadAllText(stat); }
        catch (IOException) { return false; }
        var state = text[(text.LastIndexOf(')') + 2)..][0];
        return state is not ('Z' or 'X');
    }

    [SkippableFact]
    public async Task Make_up_serves_the_repository_crds_and_make_down_leaves_no_process()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        var root = RepoRoot();
        var crdCount = Directory.Exists(Path.Combine(root, "crds")) ? Directory.GetFiles(Path.Combine(root, "crds"), "*.yaml").Length : 0;
        Skip.If(crdCount == 0, "no crds/*.yaml in the repository yet");
        var state = Directory.CreateTempSubdirectory("kubestack-up-").FullName;
        var env = new Dictionary<string, string?>
        {
            ["KUBESTACK_STATE_DIR"] = state,
            ["KUBESTACK_SKIP_BUILD"] = "1",          // the test's own copy of the emulator is already built
            ["KUBESTACK_API_ONLY"] = "1",            // the API and CRDs only: the host lab and agent have their own tests
            ["KUBESTACK_EMULATOR_DLL"] = EmulatorDll,
            ["KUBECONFIG"] = null,                  // no external cluster: up.sh must start the emulator
            ["HOME"] = state,
        };
        int pid = 0;
        try
        {
            var up = await Cli.Wrap(Path.Combine(root, "hack", "up.sh")).WithEnvironmentVariables(env)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token);
            Assert.True(up.ExitCode == 0, $"up.sh failed:\n{up.StandardOutput}\n{up.StandardError}");
            pid = int.Parse(await File.ReadAllTextAsync(Path.Combine(state, "pids", "api-emulator.pid")), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(IsRunning(pid));
            Assert.Contains("get crd", up.StandardOutput);

            var get = await Cli.Wrap(Kubectl.Path).WithArguments(["--kubeconfig", Path.Combine(state, "kubeconfig"), "--cache-dir", Path.Combine(state, "cache"), "get", "crd", "-o", "name"])
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
            Assert.Equal(crdCount, get.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            var down = await Cli.Wrap(Path.Combine(root, "hack", "down.sh")).WithEnvironmentVariables(env)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            Assert.True(down.ExitCode == 0, $"down.sh failed:\n{down.StandardOutput}\n{down.StandardError}");
            Assert.False(IsRunning(pid), $"pid {pid} still running after down.sh");
            Assert.Empty(Directory.GetFiles(Path.Combine(state, "pids")));
        }
        finally
        {
            if (pid > 0 && IsRunning(pid))
                System.Diagnostics.Process.GetProcessById(pid).Kill(); // only the process this test's up.sh started
            Directory.Delete(state, recursive: true);
        }
    }
}
