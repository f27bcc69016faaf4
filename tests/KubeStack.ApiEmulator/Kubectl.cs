using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace KubeStack.ApiEmulator;

/// <summary>Runs the real kubectl (/usr/bin/kubectl) against an emulator through a temporary kubeconfig. Argument arrays, no shell.
/// Shared by the test suites that hold the emulator to kubectl (emulator, operator).</summary>
public sealed class Kubectl : IDisposable
{
    public const string Path = "/usr/bin/kubectl";
    readonly string _dir;
    public string KubeconfigPath { get; }

    public static bool Available => File.Exists(Path);

    public Kubectl(ApiEmulator api)
    {
        ArgumentNullException.ThrowIfNull(api);
        _dir = Directory.CreateTempSubdirectory("kubestack-kubectl-").FullName;
        KubeconfigPath = api.WriteKubeconfig(System.IO.Path.Combine(_dir, "kubeconfig"));
    }

    private Kubectl(string kubeconfig)
    {
        _dir = Directory.CreateTempSubdirectory("kubestack-kubectl-").FullName;
        KubeconfigPath = kubeconfig;
    }

    /// <summary>kubectl against any cluster (a real one, e.g. K3s) through its kubeconfig file.</summary>
    public static Kubectl ForKubeconfig(string kubeconfig) => new(kubeconfig);

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>Runs kubectl with the given arguments (and optional stdin); never throws on a non-zero exit.</summary>
    public async Task<Result> RunAsync(string[] args, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        var cmd = Cli.Wrap(Path)
            .WithArguments(["--kubeconfig", KubeconfigPath, "--cache-dir", System.IO.Path.Combine(_dir, "cache"), .. args])
            .WithEnvironmentVariables(e => e.Set("KUBECONFIG", null).Set("HOME", _dir))
            .WithValidation(CommandResultValidation.None);
        if (stdin is not null) cmd = cmd.WithStandardInputPipe(PipeSource.FromString(stdin, Encoding.UTF8));
        var r = await cmd.ExecuteBufferedAsync(cts.Token);
        return new Result(r.ExitCode, r.StandardOutput, r.StandardError);
    }

    public Task<Result> RunAsync(params string[] args) => RunAsync(args, null);

    /// <summary>Runs kubectl; a non-zero exit code throws <see cref="InvalidOperationException"/> (a test failure) with the output.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var r = await RunAsync(args, null);
        EnsureSuccess(r, args);
        return r.Stdout;
    }

    public async Task<string> OkStdinAsync(string stdin, params string[] args)
    {
        var r = await RunAsync(args, stdin);
        EnsureSuccess(r, args);
        return r.Stdout;
    }

    private static void EnsureSuccess(Result result, string[] args)
    {
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl {string.Join(' ', args)} failed: {result}");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
