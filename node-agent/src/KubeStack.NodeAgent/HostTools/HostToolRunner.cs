using System.ComponentModel;
using CliWrap;
using CliWrap.Buffered;

namespace KubeStack.NodeAgent.HostTools;

/// <summary>The outcome of one tool run (stdout and stderr buffered in full).</summary>
public sealed record HostToolResult(string Tool, IReadOnlyList<string> Arguments, int ExitCode, string Stdout, string Stderr, TimeSpan Duration);

/// <summary>Runs host tools. The seam the typed wrappers use, so their parsing and error mapping test without processes.</summary>
public interface IHostToolRunner
{
    /// <summary>Runs <paramref name="tool"/> with an argument array (never a shell line). Exit codes listed in
    /// <paramref name="acceptedExitCodes"/> (default: only 0) return a result; any other code throws
    /// <see cref="HostToolException"/>, as does a tool that cannot be started.</summary>
    Task<HostToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        IReadOnlySet<int>? acceptedExitCodes = null);
}

/// <summary>
/// Runs host tools through CliWrap with argument arrays (CliWrap escapes each element; the string overload does not),
/// result validation off, and the exit code mapped to <see cref="HostToolException"/> here, in one place.
/// </summary>
public sealed class HostToolRunner : IHostToolRunner
{
    private static readonly IReadOnlySet<int> OnlyZero = new HashSet<int> { 0 };

    public static HostToolRunner Default { get; } = new();

    public async Task<HostToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        IReadOnlySet<int>? acceptedExitCodes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        ArgumentNullException.ThrowIfNull(arguments);
        BufferedCommandResult result;
        try
        {
            result = await Cli.Wrap(tool)
                .WithArguments(arguments)
                .WithValidation(CommandResultValidation.None)
                .WithEnvironmentVariables(env => env.Set("LC_ALL", "C"))
                .ExecuteBufferedAsync(cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Win32Exception ex)
        {
            throw new HostToolException(tool, arguments, -1, ex.Message, ex);
        }
        if (!(acceptedExitCodes ?? OnlyZero).Contains(result.ExitCode))
        {
            throw new HostToolException(tool, arguments, result.ExitCode, result.StandardError);
        }
        return new HostToolResult(tool, arguments, result.ExitCode, result.StandardOutput, result.StandardError, result.RunTime);
    }
}
