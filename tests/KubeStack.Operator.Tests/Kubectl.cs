using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace KubeStack.Operator.Tests;

/// <summary>Runs the real kubectl (/usr/bin/kubectl) against an emulator through a temporary kubeconfig. Argument arrays, no shell.</summary>
internal sealed class Kubectl : IDisposable
{
    public const string Path = "/usr/bin/kubectl";
    readonly string _dir;
    public string KubeconfigPath { get; }

    public static bool Available => File.Exists(Path);

    public Kubectl(KubeStack.ApiEmulator.ApiEmulator api)
    {
        _dir = Directory.CreateTempSubdirectory("kubestack-kubectl-").FullName;
        KubeconfigPath = api.WriteKubeconfig(System.IO.Path.Combine(_dir, "kubeconfig"));
    }

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

    /// <summary>Runs kubectl and asserts exit code 0.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var r = await RunAsync(args, null);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed: {r}");
        return r.Stdout;
    }

    public async Task<string> OkStdinAsync(string stdin, params string[] args)
    {
        var r = await RunAsync(args, stdin);
        Assert.True(r.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed: {r}");
        return r.Stdout;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
