namespace KubeStack.NodeAgent.Runtime;

/// <summary>
/// Points of a request where crash tests stop the agent abruptly (env <c>KUBESTACK_CRASH_AT=&lt;point&gt;</c>): the
/// process dies without writing anything more, as if the node lost power, so a test can restart it and check that the
/// request still ends exactly once.
/// </summary>
public static class CrashPoints
{
    public const string EnvironmentVariable = "KUBESTACK_CRASH_AT";

    /// <summary>After the claim (status Running) was written, before the handler ran.</summary>
    public const string AfterClaim = "after-claim";

    /// <summary>After the handler's host call returned, before the outcome was written.</summary>
    public const string AfterHostCall = "after-host-call";

    /// <summary>After the outcome was written to status, before the spec patch (seed view, lifecycle removal).</summary>
    public const string AfterStatus = "after-status";

    /// <summary>After the spec patch.</summary>
    public const string AfterSpec = "after-spec";

    /// <summary>Inside a backup (backupVM, backupDisk), after the data files were written, before the manifest (docs/backup.md).</summary>
    public const string BackupBeforeManifest = "backup-before-manifest";

    public static readonly IReadOnlyList<string> All = [AfterClaim, AfterHostCall, AfterStatus, AfterSpec, BackupBeforeManifest];
}

public interface ICrashInjector
{
    /// <summary>Ends the process at once when <paramref name="point"/> is the configured crash point.</summary>
    void At(string point);
}

/// <summary>Never crashes (production, unit tests).</summary>
public sealed class NoCrashInjector : ICrashInjector
{
    public static readonly NoCrashInjector Instance = new();

    public void At(string point)
    {
    }
}

/// <summary>Crashes at the point named by <c>KUBESTACK_CRASH_AT</c>, with <see cref="Environment.FailFast(string)"/>.</summary>
public sealed class EnvironmentCrashInjector : ICrashInjector
{
    private readonly string _point;

    public EnvironmentCrashInjector(string point)
    {
        if (!CrashPoints.All.Contains(point))
        {
            throw new ArgumentException(
                $"{CrashPoints.EnvironmentVariable}={point} is not a crash point; use one of {string.Join(", ", CrashPoints.All)}.", nameof(point));
        }

        _point = point;
    }

    /// <summary>The injector the environment asks for.</summary>
    public static ICrashInjector FromEnvironment()
    {
        var point = Environment.GetEnvironmentVariable(CrashPoints.EnvironmentVariable);
        return string.IsNullOrWhiteSpace(point) ? NoCrashInjector.Instance : new EnvironmentCrashInjector(point.Trim());
    }

    public void At(string point)
    {
        if (point == _point)
        {
            Console.Error.WriteLine($"kubestack-node-agent: {CrashPoints.EnvironmentVariable}={point} reached; crashing on purpose.");
            Environment.FailFast($"{CrashPoints.EnvironmentVariable}={point} reached (crash test).");
        }
    }
}
