using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;

namespace KubeStack.Observability.Tests;

internal static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No KubeStack.Operator.sln above {AppContext.BaseDirectory}.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a tool with an argument array; the result whatever the exit code.</summary>
    public static Task<BufferedCommandResult> RunAsync(string tool, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? env = null,
        string? stdin = null) =>
        Cli.Wrap(tool).WithArguments(arguments).WithValidation(CommandResultValidation.None)
            .WithEnvironmentVariables(env ?? new Dictionary<string, string?>())
            .WithStandardInputPipe(stdin is null ? PipeSource.Null : PipeSource.FromString(stdin))
            .ExecuteBufferedAsync();
}

/// <summary>One Prometheus text exposition, parsed: series (name + sorted labels) to value.</summary>
internal sealed partial class Scrape
{
    private Scrape(string text, IReadOnlyList<Sample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static async Task<Scrape> GetAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await http.GetStringAsync(new Uri($"http://localhost:{port}/metrics"));
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var m = SampleLine().Match(line);
            if (!m.Success)
            {
                continue;
            }

            var labels = LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            var value = m.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(m.Groups["name"].Value, labels, value));
        }

        return new Scrape(text, samples);
    }

    public IEnumerable<Sample> Series(string name) => Samples.Where(s => s.Name == name);

    /// <summary>The samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public IEnumerable<Sample> Series(string name, params (string Key, string Value)[] labels) =>
        Series(name).Where(s => labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)" """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex LabelPair();
}

internal sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>Awaits a condition with a timeout (no fixed sleeps: polls with a short backoff).</summary>
internal static class Eventually
{
    public static async Task<T> GetAsync<T>(Func<Task<T?>> probe, string what, TimeSpan timeout) where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                last = ex;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s.{(last is null ? "" : " Last error: " + last.Message)}");
    }
}

/// <summary>
/// Tests that start agent or operator hosts run one at a time: every MeterProvider in a process listens to every
/// Meter of a name, so two agents in one test process would report each other's series (in a cluster each agent is
/// its own process).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostsCollection
{
    public const string Name = "component hosts (one at a time)";
}
