using System.Diagnostics;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Infrastructure;

public static class Await
{
    /// <summary>Reads lifecycle events until one matches; fails with what was seen when the timeout passes.</summary>
    public static async Task<DomainLifecycleEvent> EventAsync(LifecycleSubscription sub, Func<DomainLifecycleEvent, bool> match,
        TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        var seen = new List<string>();
        try
        {
            while (await sub.Reader.WaitToReadAsync(cts.Token))
            {
                while (sub.Reader.TryRead(out var e))
                {
                    if (match(e)) return e;
                    seen.Add($"{e.Name}:{e.Event}/{e.DetailName}");
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        throw new TimeoutException($"no {what} event within {timeout.TotalSeconds:0.#} s; saw [{string.Join(", ", seen)}]");
    }

    /// <summary>Polls a file (a guest's serial log) until a line containing <paramref name="marker"/> appears.</summary>
    public static async Task<string> LineAsync(string path, string marker, TimeSpan timeout, int afterLine = 0)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (File.Exists(path))
            {
                string[] lines;
                using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var reader = new StreamReader(fs))
                {
                    lines = (await reader.ReadToEndAsync()).Split('\n');
                }
                var hit = lines.Skip(afterLine).FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
                if (hit is not null) return hit.TrimEnd('\r');
            }
            await Task.Delay(200);
        }
        var tail = File.Exists(path) ? string.Join(" | ", File.ReadAllLines(path).TakeLast(5)) : "(no log file)";
        throw new TimeoutException($"'{marker}' did not appear in {path} within {timeout.TotalSeconds:0} s; last lines: {tail}");
    }

    /// <summary>How many lines a log file has now (to wait for lines written after an action).</summary>
    public static int LineCount(string path)
    {
        if (!File.Exists(path)) return 0;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs);
        var n = 0;
        while (reader.ReadLine() is not null) n++;
        return n;
    }

    /// <summary>Polls a condition (e.g. a domain state) every 100 ms until true or the timeout passes.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(100);
        }
    }
}
