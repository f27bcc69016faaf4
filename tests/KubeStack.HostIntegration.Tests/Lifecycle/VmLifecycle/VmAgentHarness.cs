using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Watch;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;

/// <summary>
/// The VM slice end to end in one process: the API emulator with the repository's CRDs; the agent's real runtime
/// (informers, queue, request state machine, writes, Events, finalizers) running the real VM handlers, cleanup and
/// reader; and the out-of-band watcher — all against libvirtd on qemu:///system with TCG guests.
/// An agent can be "crashed" at a crash point (the worker stops without writing more, as if the process died) and a
/// new one started on the same API server.
/// </summary>
internal sealed class VmAgentHarness : IAsyncDisposable
{
    public const string Node = "lab-node";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private Agent? _agent;

    private VmAgentHarness(ApiEmulator.ApiEmulator api, LibvirtConnection connection, string serialLogDirectory)
    {
        Api = api;
        Client = api.CreateClient();
        Connection = connection;
        Libvirt = new LibvirtHost(() => connection);
        Options = new AgentOptions
        {
            NodeName = Node,
            DomainType = DomainType.Qemu,
            SerialLogDirectory = serialLogDirectory,
            VmStopTimeout = TimeSpan.FromSeconds(45),
        };
        Host = new VmHost(Libvirt, Options);
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }
    public LibvirtConnection Connection { get; }
    public LibvirtHost Libvirt { get; }
    public AgentOptions Options { get; }
    public VmHost Host { get; }
    public VmStateWatcher? Watcher => _agent?.Watcher;
    public static LifecycleCatalog Catalog => CatalogLoader.Default;

    public static async Task<VmAgentHarness> StartAsync(string serialLogDirectory, string? crashAt = null)
    {
        var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(RepoRoot, "crds")));
        var harness = new VmAgentHarness(api, LibvirtConnection.Open(LabEnvironment.SystemUri), serialLogDirectory);
        await harness.StartAgentAsync(crashAt);
        return harness;
    }

    public static string RepoRoot => RepoPaths.Root;

    /// <summary>Starts an agent (new handler instances: nothing survives from a previous "process").</summary>
    public async Task StartAgentAsync(string? crashAt = null)
    {
        Assert.Null(_agent);
        _agent = await Agent.StartAsync(this, crashAt);
    }

    /// <summary>Waits until the running agent reached its crash point and stopped; then it is gone.</summary>
    public async Task WaitCrashedAsync()
    {
        var agent = _agent ?? throw new InvalidOperationException("No agent runs.");
        await agent.Crashed.Task.WaitAsync(Timeout);
        await agent.DisposeAsync();
        _agent = null;
    }

    private static ApiResource Resource(string kind) => KubeObjectApi.ApiResourceOf(Catalog.Kind(kind));

    /// <summary>Creates a VirtualMachine labelled for this node carrying one request (kubectl apply of a new VM).</summary>
    public async Task<KubeStackResource> ApplyAsync(string name, string operation, JsonObject parameters, string eventId = "ev-1")
    {
        var r = Resource(Kinds.VirtualMachine);
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = "default",
                Labels = new Dictionary<string, string> { [Labels.Host] = Node, [Labels.EventId] = eventId },
            },
            Spec = new KubeStackSpec { Lifecycle = new JsonObject { [operation] = parameters } },
        };
        return await Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(obj, r.Group, r.Version, "default", r.Plural);
    }

    /// <summary>Submits a request on an existing VM and waits until it ended (spec.lifecycle removed, outcome recorded).</summary>
    public async Task<KubeStackResource> RunAsync(string name, string operation, JsonObject? parameters = null)
    {
        var before = await GetAsync(name) ?? throw new InvalidOperationException($"VM {name} does not exist.");
        var r = Resource(Kinds.VirtualMachine);
        var patch = new V1Patch(
            new JsonObject { ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { [operation] = parameters ?? [] } } }.ToJsonString(),
            V1Patch.PatchType.MergePatch);
        var submitted = await Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, r.Group, r.Version, "default", r.Plural, name);
        var generation = submitted.Metadata.Generation;
        Assert.NotEqual(before.Metadata.Generation, generation);
        return await WaitForAsync(name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { } l && l.Key == operation && l.Generation == generation
                                             && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed && o.Spec.Status is not null,
            $"{operation} finishing");
    }

    /// <summary>Submits deleteVM (no wait: the object goes away when it succeeds).</summary>
    public async Task ApplyDeleteAsync(string name, JsonObject? parameters = null)
    {
        var r = Resource(Kinds.VirtualMachine);
        var patch = new V1Patch(
            new JsonObject { ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["deleteVM"] = parameters ?? [] } } }.ToJsonString(),
            V1Patch.PatchType.MergePatch);
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, r.Group, r.Version, "default", r.Plural, name);
    }

    public Task<KubeStackResource> FinishedAsync(string name, string operation) =>
        WaitForAsync(name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { } l && l.Key == operation
                                && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed && o.Spec.Status is not null,
            $"{operation} finishing");

    public async Task<KubeStackResource?> GetAsync(string name)
    {
        var r = Resource(Kinds.VirtualMachine);
        try
        {
            return await Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(r.Group, r.Version, "default", r.Plural, name);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task DeleteAsync(string name)
    {
        var r = Resource(Kinds.VirtualMachine);
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(r.Group, r.Version, "default", r.Plural, name);
    }

    public async Task<KubeStackResource> WaitForAsync(string name, Func<KubeStackResource, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetAsync(name);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"VM {name}: {what} did not happen in time; last seen: " + (last is null ? "absent" : KubernetesJson.Serialize(last)));
    }

    public async Task WaitGoneAsync(string name)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await GetAsync(name) is null)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"VM {name} was not deleted in time: {KubernetesJson.Serialize(await GetAsync(name))}");
    }

    public async Task<IReadOnlyList<Corev1Event>> EventsAsync(string name)
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync("default");
        return list.Items.Where(e => e.InvolvedObject?.Name == name).OrderBy(e => e.FirstTimestamp).ToList();
    }

    /// <summary>Waits for an Event on <paramref name="name"/> matching <paramref name="match"/>.</summary>
    public async Task<Corev1Event> EventAsync(string name, Func<Corev1Event, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (DateTime.UtcNow < deadline)
        {
            if ((await EventsAsync(name)).FirstOrDefault(match) is { } hit)
            {
                return hit;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No {what} Event on {name} in time; saw: " +
                                   string.Join(" | ", (await EventsAsync(name)).Select(e => $"{e.Type} {e.Reason}: {e.Message}")));
    }

    public static Task<HostToolResult> ToolAsync(string tool, params string[] arguments) =>
        HostToolRunner.Default.RunAsync(tool, arguments, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        Client.Dispose();
        await Api.DisposeAsync();
        Libvirt.Dispose();
    }

    /// <summary>One "agent process": controller + watcher with their own handler instances.</summary>
    private sealed class Agent : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private AgentController _controller = null!;
        private Task _run = Task.CompletedTask;
        private Task _watch = Task.CompletedTask;

        public TaskCompletionSource Crashed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public VmStateWatcher Watcher { get; private set; } = null!;

        public static async Task<Agent> StartAsync(VmAgentHarness h, string? crashAt)
        {
            var agent = new Agent();
            var host = h.Host;
            ILifecycleHandler[] handlers =
            [
                new CreateAndStartVMFromISOHandler(host), new CreateAndStartVMFromImageHandler(host), new StartVMHandler(host),
                new StopVMHandler(host, TimeProvider.System), new StopVMForceHandler(host), new RebootVMHandler(host), new ResetVMHandler(host),
                new SuspendVMHandler(host), new ResumeVMHandler(host), new DeleteVMHandler(host), new AutoStartVMHandler(host),
            ];
            var api = new KubeObjectApi(h.Client, Catalog);
            var recorder = new EventRecorder(h.Client, "kubestack-node-agent", Node);
            var processor = new RequestProcessor(
                api,
                new HandlerRegistry(handlers, [new VirtualMachineCleanup(host)], [new VirtualMachineStateReader(host)]),
                Catalog,
                new LifecycleEvents(recorder, Node),
                new RequestRuntimeOptions { NodeName = Node },
                NullLogger<RequestProcessor>.Instance,
                crashAt is null ? null : new StopAgentAt(crashAt, agent));
            agent._controller = new AgentController(
                Catalog,
                kind => new KubernetesListWatcher<KubeStackResource>(h.Client, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={Node}"),
                processor,
                new AgentControllerOptions
                {
                    Workers = 4,
                    RetryBaseDelay = TimeSpan.FromMilliseconds(100),
                    RetryMaxDelay = TimeSpan.FromSeconds(1),
                    WatchMinBackoff = TimeSpan.FromMilliseconds(20),
                    WatchMaxBackoff = TimeSpan.FromMilliseconds(200),
                },
                NullLoggerFactory.Instance);
            agent.Watcher = new VmStateWatcher(h.Libvirt, api, recorder,
                () => agent._controller.Informers[Kinds.VirtualMachine].List(), Node,
                new VmStateWatcherOptions { ResyncPeriod = TimeSpan.FromSeconds(30) }, NullLogger<VmStateWatcher>.Instance);
            agent._run = Task.Run(() => agent._controller.RunAsync(agent._stop.Token));
            agent._watch = Task.Run(() => agent.Watcher.RunAsync(agent._stop.Token));
            var deadline = DateTime.UtcNow + Timeout;
            while (!agent._controller.HasSynced)
            {
                if (agent._run.IsCompleted)
                {
                    await agent._run;
                }

                Assert.True(DateTime.UtcNow < deadline, "The agent controller did not sync in time.");
                await Task.Delay(10);
            }

            return agent;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            foreach (var task in new[] { _run, _watch })
            {
                try
                {
                    await task.WaitAsync(TimeSpan.FromSeconds(20));
                }
                catch (OperationCanceledException)
                {
                }
            }

            _controller.Dispose();
            _stop.Dispose();
        }

        /// <summary>At the crash point: stop the whole agent and end this worker without writing anything more.</summary>
        private sealed class StopAgentAt(string point, Agent agent) : ICrashInjector
        {
            public void At(string reached)
            {
                if (reached != point)
                {
                    return;
                }

                agent._stop.Cancel();
                agent.Crashed.TrySetResult();
                throw new OperationCanceledException(agent._stop.Token);
            }
        }
    }
}
