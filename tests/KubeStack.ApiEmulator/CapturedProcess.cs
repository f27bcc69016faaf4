using System.Diagnostics;
using System.Text;

namespace KubeStack.ApiEmulator;

/// <summary>A <c>dotnet</c> program run as a child process (argument list, no shell) with its stdout and stderr captured.
/// Shared by the suites that start and kill the real agent process (runtime crash tests, host crash tests).</summary>
public sealed class CapturedProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private CapturedProcess(Process process)
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

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="arguments"/></c>; an environment value of null removes
    /// the variable inherited from the test process.</summary>
    public static CapturedProcess StartDotnet(string dll, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var captured = new CapturedProcess(process);
        process.OutputDataReceived += (_, e) => captured.Append(e.Data);
        process.ErrorDataReceived += (_, e) => captured.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return captured;
    }

    /// <summary>The node agent as built in its own project for the same configuration and framework as the calling tests
    /// (its runtimeconfig and dependencies are complete there, unlike a copy next to the tests).</summary>
    public static string BuiltAgentDll(string repoRoot)
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(repoRoot, "node-agent", "src", "KubeStack.NodeAgent", "bin", tfm.Parent!.Name, tfm.Name, "KubeStack.NodeAgent.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The node agent is not built at {dll}.", dll);
    }

    public bool HasExited => _process.HasExited;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Stop();
            throw new TimeoutException($"The process did not exit within {timeout}. Output:\n{Output}");
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
