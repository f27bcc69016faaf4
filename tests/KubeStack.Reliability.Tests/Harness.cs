using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Reliability.Tests;

/// <summary>How long the default suite runs a stream, or the soak (make soak: KUBESTACK_SOAK=1) scales it up.</summary>
internal static class Soak
{
    public static bool On { get; } = Environment.GetEnvironmentVariable("KUBESTACK_SOAK") == "1";

    public static int Scale(int normal, int soak) => On ? soak : normal;
}

/// <summary>
/// The agent's real controller stack (informers, queue, request state machine, API writes) against the API emulator, with
/// handlers that act on a <see cref="HostModel"/>; the controller can be killed and restarted at any moment.
/// </summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    public const string Node = "rel-node";
    public static readonly string[] Operations = ["suspendVM", "resumeVM", "rebootVM", "stopVMForce", "startVM"];

    private readonly CancellationTokenSource _stop = new();
    private (AgentController Controller, CancellationTokenSource Stop, Task Run)? _agent;

    private FaultCluster(ApiEmulator.ApiEmulator api, ICrashInjector crash, int workers, Func<ApiEmulator.ApiEmulator, Kubernetes>? agentClient)
    {
        Api = api;
        Client = api.CreateClient();
        AgentClient = agentClient?.Invoke(api) ?? Client;
        Crash = crash;
        Workers = workers;
        Handlers = Operations.Select(op => new ModelHandler(Kinds.VirtualMachine, op, Host)).ToArray();
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }
    /// <summary>The agent's own client: <see cref="Client"/>, or the one the test made (e.g. with a shorter HTTP timeout).</summary>
    public Kubernetes AgentClient { get; }
    /// <summary>The running agent controller (null while restarting); it completes only when stopped or when it died.</summary>
    public Task? AgentRun => _agent?.Run;
    public HostModel Host { get; } = new();
    public ICrashInjector Crash { get; }
    public int Workers { get; }
    public ModelHandler[] Handlers { get; }
    public int Restarts { get; private set; }

    /// <param name="agentClient">Makes the agent's own API client (default: it shares <see cref="Client"/>).</param>
    public static async Task<FaultCluster> StartAsync(ICrashInjector? crash = null, int workers = 4, int historyWindow = 1000,
        Func<ApiEmulator.ApiEmulator, Kubernetes>? agentClient = null)
    {
        var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions
        {
            BookmarkInterval = TimeSpan.FromMilliseconds(200),
            HistoryWindow = historyWindow,
        });
        await api.RegisterCrdsFromFolderAsync(Path.Combine(RepoPaths.Root, "crds"));
        var cluster = new FaultCluster(api, crash ?? NoCrash.Instance, workers, agentClient);
        cluster.StartAgent();
        return cluster;
    }

    private static ApiResource Resource => KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachine));

    private void StartAgent()
    {
        var processor = new RequestProcessor(
            new KubeObjectApi(AgentClient, CatalogLoader.Default),
            new HandlerRegistry(Handlers, null),
            CatalogLoader.Default,
            new LifecycleEvents(new EventRecorder(AgentClient, "kubestack-node-agent", Node), Node),
            new RequestRuntimeOptions { NodeName = Node, MaxAttempts = 100 },
            NullLogger<RequestProcessor>.Instance,
            Crash);
        var controller = new AgentController(
            CatalogLoader.Default,
            kind => new KubernetesListWatcher<KubeStackResource>(AgentClient, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={Node}"),
            processor,
            new AgentControllerOptions
            {
                Workers = Workers,
                RetryBaseDelay = TimeSpan.FromMilliseconds(20),
                RetryMaxDelay = TimeSpan.FromMilliseconds(500),
                WatchMinBackoff = TimeSpan.FromMilliseconds(20),
                WatchMaxBackoff = TimeSpan.FromMilliseconds(200),
            },
            NullLoggerFactory.Instance);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        _agent = (controller, stop, Task.Run(() => controller.RunAsync(stop.Token)));
    }

    /// <summary>Stops the agent abruptly (its in-flight handlers and writes are cancelled where they are) and starts a new one.</summary>
    public async Task KillAndRestartAgentAsync()
    {
        await StopAgentAsync();
        Restarts++;
        StartAgent();
    }

    private async Task StopAgentAsync()
    {
        if (_agent is not { } agent)
        {
            return;
        }

        _agent = null;
        await agent.Stop.CancelAsync();
        try
        {
            await agent.Run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
        }

        agent.Controller.Dispose();
        agent.Stop.Dispose();
    }

    public async Task CreateVmAsync(string name)
    {
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string> { [Labels.Host] = Node } },
            // The VM exists on the host (the operator refuses a non-create request on an object with no host side).
            Spec = new KubeStackSpec { Domain = new JsonObject { ["name"] = name } },
        };
        await RetryAsync(() => Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(obj, Resource.Group, Resource.Version, "default", Resource.Plural));
        Host.Add(name);
    }

    /// <summary>A client's request: the lifecycle key and a new event ID in one merge patch (retried on injected API errors).</summary>
    public Task SubmitAsync(string name, string op, string eventId)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = eventId } },
            ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { [op] = new JsonObject() } },
        };
        return RetryAsync(() => Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), Resource.Group, Resource.Version, "default", Resource.Plural, name));
    }

    public async Task<KubeStackResource> GetAsync(string name) =>
        await RetryAsync(() => Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(Resource.Group, Resource.Version, "default", Resource.Plural, name));

    /// <summary>Reads the object until the request <paramref name="eventId"/> is terminal and spec.lifecycle is gone.</summary>
    public async Task<KubeStackResource> WaitTerminalAsync(string name, string eventId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetAsync(name);
            if (last.Spec.Lifecycle is null && last.Status?.Lifecycle is { } record && record.EventId == eventId
                && record.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
            {
                return last;
            }

            await Task.Delay(40);
        }

        throw new TimeoutException($"VirtualMachine {name}: request {eventId} did not end in time; last seen: {(last is null ? "nothing" : KubernetesJson.Serialize(last))}");
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (k8s.Autorest.HttpOperationException ex) when (attempt < 50 && (int)ex.Response.StatusCode is 409 or 429 or 500 or 503)
            {
                await Task.Delay(20 * Math.Min(attempt, 10));
            }
            catch (HttpRequestException) when (attempt < 50)
            {
                await Task.Delay(20 * Math.Min(attempt, 10));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Api.Faults.Clear();
        Api.Faults.Resume();
        await StopAgentAsync();
        await _stop.CancelAsync();
        _stop.Dispose();
        if (!ReferenceEquals(AgentClient, Client))
        {
            AgentClient.Dispose();
        }

        Client.Dispose();
        await Api.DisposeAsync();
    }
}

/// <summary>
/// A host whose effects are counted: every request's effect is applied at most once; a second run of the same request
/// (same event ID) is allowed only as a resumed attempt (attempt &gt; 1) that finds its effect done; two handlers on one
/// object at the same time are a violation.
/// </summary>
internal sealed class HostModel
{
    private readonly ConcurrentDictionary<string, List<string>> _applied = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Violations { get; } = new();
    public int ResumedRuns;
    public int Runs;

    public void Add(string name) => _applied.TryAdd(name, []);

    public IReadOnlyList<string> Applied(string name)
    {
        var list = _applied[name];
        lock (list)
        {
            return list.ToArray();
        }
    }

    public IDisposable Enter(string name)
    {
        if (_inFlight.AddOrUpdate(name, 1, (_, n) => n + 1) > 1)
        {
            Violations.Enqueue($"{name}: two handlers ran on the object at the same time.");
        }

        return new Exit(() => _inFlight.AddOrUpdate(name, 0, (_, n) => n - 1));
    }

    /// <summary>Applies the request's effect once; true when this call applied it, false when an earlier attempt had.</summary>
    public bool Apply(string name, string eventId, int attempt)
    {
        Interlocked.Increment(ref Runs);
        var list = _applied.GetOrAdd(name, _ => []);
        lock (list)
        {
            if (!list.Contains(eventId))
            {
                list.Add(eventId);
                return true;
            }
        }

        Interlocked.Increment(ref ResumedRuns);
        if (attempt <= 1)
        {
            Violations.Enqueue($"{name}: request {eventId} ran a second time as a first attempt (the claim was not recorded).");
        }

        return false;
    }

    private sealed class Exit(Action exit) : IDisposable
    {
        public void Dispose() => exit();
    }
}

/// <summary>A lifecycle handler acting on the <see cref="HostModel"/>, taking a few milliseconds (so kills land inside it).</summary>
internal sealed class ModelHandler(string kind, string key, HostModel host) : ILifecycleHandler
{
    public string Kind { get; } = kind;
    public string Key { get; } = key;

    public async Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        var eventId = context.EventId ?? throw new InvalidOperationException($"{context.Name}: a request without an event ID.");
        using (host.Enter(context.Name))
        {
            await Task.Delay(Random.Shared.Next(0, 4), cancellationToken);
            host.Apply(context.Name, eventId, context.Attempt);
        }

        return HandlerResult.Succeeded(new JsonObject { ["name"] = context.Name, ["last"] = eventId }, "Running");
    }
}

internal sealed class NoCrash : ICrashInjector
{
    public static readonly NoCrash Instance = new();

    public void At(string point)
    {
    }
}

/// <summary>Dies (throws out of the request state machine, which then writes nothing more) at a random crash point with probability p.</summary>
internal sealed class RandomCrashInjector(double probability) : ICrashInjector
{
    private int _crashes;

    public int Crashes => Volatile.Read(ref _crashes);

    public void At(string point)
    {
        if (Random.Shared.NextDouble() < probability)
        {
            Interlocked.Increment(ref _crashes);
            throw new SimulatedCrashException(point);
        }
    }
}

internal sealed class SimulatedCrashException(string point) : Exception($"simulated agent death at {point}");
