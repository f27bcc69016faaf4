using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;

namespace KubeStack.NodeAgent.Runtime.Testing;

/// <summary>
/// Settings of the test handlers, read from the environment. They exist for the runtime's crash and component tests
/// (a real agent process with no libvirt behind it) and are registered only when <c>KUBESTACK_TEST_HANDLERS</c> is set.
/// </summary>
public sealed class TestHandlerSettings
{
    public const string OperationsVariable = "KUBESTACK_TEST_HANDLERS";
    public const string StateDirVariable = "KUBESTACK_TEST_HANDLER_DIR";
    public const string DelayVariable = "KUBESTACK_TEST_HANDLER_DELAY_MS";

    /// <summary>(kind, key) pairs served by the recording handler: <c>VirtualMachineDisk/createDisk,VirtualMachine/rebootVM</c>.</summary>
    public required IReadOnlyList<(string Kind, string Key)> Operations { get; init; }

    /// <summary>Where the handler keeps its fake host objects and its invocation log (<c>invocations.log</c>).</summary>
    public required string StateDir { get; init; }

    public TimeSpan Delay { get; init; }

    public string LogFile => Path.Combine(StateDir, "invocations.log");

    /// <summary>The settings from the environment, or null when test handlers are off.</summary>
    public static TestHandlerSettings? FromEnvironment()
    {
        var list = Environment.GetEnvironmentVariable(OperationsVariable);
        if (string.IsNullOrWhiteSpace(list))
        {
            return null;
        }

        var operations = new List<(string, string)>();
        foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('/');
            if (parts.Length != 2 || !Kinds.All.Contains(parts[0]) || parts[1].Length == 0)
            {
                throw new ArgumentException($"{OperationsVariable}: '{item}' is not <Kind>/<lifecycleKey> with a doslab.io kind.");
            }

            operations.Add((parts[0], parts[1]));
        }

        var dir = Environment.GetEnvironmentVariable(StateDirVariable);
        if (string.IsNullOrWhiteSpace(dir))
        {
            throw new ArgumentException($"{OperationsVariable} is set, so {StateDirVariable} must name a directory for the test handler's state.");
        }

        var delayText = Environment.GetEnvironmentVariable(DelayVariable);
        var delay = string.IsNullOrWhiteSpace(delayText) ? TimeSpan.Zero
            : TimeSpan.FromMilliseconds(int.Parse(delayText, NumberStyles.Integer, CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        return new TestHandlerSettings { Operations = operations, StateDir = dir, Delay = delay };
    }
}

/// <summary>
/// A stand-in for a real handler with the same discipline: it probes its fake "host object" (a file) before acting,
/// so running it twice for one submission creates nothing twice. Every call and every real change is appended to
/// <see cref="TestHandlerSettings.LogFile"/>: <c>invoke ...</c>, <c>create ...</c>, <c>remove ...</c>.
/// Operations whose key starts with <c>delete</c> remove the host object; the others ensure it exists.
/// </summary>
public sealed class RecordingTestHandler(string kind, string key, TestHandlerSettings settings) : ILifecycleHandler
{
    private static readonly Lock FileGate = new();

    public string Kind { get; } = kind;
    public string Key { get; } = key;

    public async Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = $"{context.Kind} {context.Namespace}/{context.Name}";
        Append(settings.LogFile, $"invoke {id} {Key} generation={context.Object.Metadata.Generation} attempt={context.Attempt}");
        if (settings.Delay > TimeSpan.Zero)
        {
            await Task.Delay(settings.Delay, cancellationToken).ConfigureAwait(false);
        }

        var hostObject = HostObjectPath(settings, context.Kind, context.Namespace, context.Name);
        if (Key.StartsWith("delete", StringComparison.Ordinal))
        {
            if (File.Exists(hostObject))
            {
                File.Delete(hostObject);
                Append(settings.LogFile, $"remove {id}");
            }

            return HandlerResult.Succeeded();
        }

        if (!File.Exists(hostObject))
        {
            await File.WriteAllTextAsync(hostObject, Key, cancellationToken).ConfigureAwait(false);
            Append(settings.LogFile, $"create {id}");
        }

        var view = new JsonObject { ["name"] = context.Name, ["testHandler"] = Key, ["node"] = context.NodeName };
        return HandlerResult.Succeeded(view, context.Kind == Kinds.VirtualMachine ? "Running" : null);
    }

    internal static string HostObjectPath(TestHandlerSettings settings, string kind, string ns, string name) =>
        Path.Combine(settings.StateDir, $"{kind}.{ns}.{name}.host");

    internal static void Append(string file, string line)
    {
        lock (FileGate)
        {
            File.AppendAllText(file, line + Environment.NewLine);
        }
    }
}

/// <summary>Finalizer cleanup for the kinds the test handlers serve: removes the fake host object.</summary>
public sealed class RecordingTestCleanup(string kind, TestHandlerSettings settings) : IObjectCleanup
{
    public string Kind { get; } = kind;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var meta = context.Object.Metadata;
        var path = RecordingTestHandler.HostObjectPath(settings, Kind, meta.NamespaceProperty, meta.Name);
        RecordingTestHandler.Append(settings.LogFile, $"cleanup {Kind} {meta.NamespaceProperty}/{meta.Name}");
        if (File.Exists(path))
        {
            File.Delete(path);
            RecordingTestHandler.Append(settings.LogFile, $"remove {Kind} {meta.NamespaceProperty}/{meta.Name}");
        }

        return Task.FromResult(HandlerResult.Succeeded());
    }
}

/// <summary>Reads the fake host object back (the view a real reader would take from libvirt).</summary>
public sealed class RecordingTestReader(string kind, TestHandlerSettings settings) : IObservedStateReader
{
    public string Kind { get; } = kind;

    public async Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var path = RecordingTestHandler.HostObjectPath(settings, Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        if (!File.Exists(path))
        {
            return null;
        }

        var key = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        var view = new JsonObject { ["name"] = obj.Metadata.Name, ["testHandler"] = key, ["node"] = nodeName };
        return new ObservedState(view, Kind == Kinds.VirtualMachine ? "Running" : null);
    }
}
