namespace KubeStack.NodeAgent.HostTools;

/// <summary>
/// A host tool (qemu-img, ovs-vsctl, ...) failed: it exited with a code its wrapper does not accept, could not be
/// started, or printed output its wrapper cannot parse. Carries the tool, its argument array, the exit code
/// (-1 when the process never ran) and the end of its stderr (bounded).
/// </summary>
public sealed class HostToolException : Exception
{
    /// <summary>At most this many characters of stderr are kept (the tail, where tools put the reason).</summary>
    public const int MaxStderrChars = 4096;

    public HostToolException(string tool, IReadOnlyList<string> arguments, int exitCode, string stderr, Exception? innerException = null)
        : base(FormatMessage(tool, arguments, exitCode, stderr), innerException)
    {
        Tool = tool;
        Arguments = arguments;
        ExitCode = exitCode;
        Stderr = Truncate(stderr);
    }

    public HostToolException() : this("unknown", [], -1, string.Empty) { }
    public HostToolException(string message) : base(message) { Tool = "unknown"; Arguments = []; ExitCode = -1; Stderr = string.Empty; }
    public HostToolException(string message, Exception innerException) : base(message, innerException)
    {
        Tool = "unknown"; Arguments = []; ExitCode = -1; Stderr = string.Empty;
    }

    public string Tool { get; }
    public IReadOnlyList<string> Arguments { get; }
    /// <summary>The process exit code; -1 when it could not be started.</summary>
    public int ExitCode { get; }
    public string Stderr { get; }

    /// <summary>The tool is not installed (or not executable) on this host.</summary>
    public bool IsToolMissing => ExitCode == -1 && InnerException is System.ComponentModel.Win32Exception;

    internal static string Truncate(string s) =>
        s.Length <= MaxStderrChars ? s : "…" + s[^MaxStderrChars..];

    private static string FormatMessage(string tool, IReadOnlyList<string> args, int exitCode, string stderr)
    {
        var cmd = string.Join(' ', new[] { tool }.Concat(args.Select(Quote)));
        var reason = Truncate(stderr).Trim();
        return exitCode == -1
            ? $"{tool} could not be run ({cmd}): {(reason.Length > 0 ? reason : "not installed or not executable")}"
            : $"{tool} exited with code {exitCode} ({cmd}){(reason.Length > 0 ? ": " + reason : string.Empty)}";
    }

    private static string Quote(string a) => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=:,@+".Contains(c)) ? a : $"'{a.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
