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

namespace KubeStack.Runtime.Tests.Component;

internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Crds => Path.Combine(Root, "crds");

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
}

/// <summary>An API emulator with the repository's CRDs, and helpers to write and await doslab.io objects.</summary>
internal sealed class EmulatedCluster : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private EmulatedCluster(ApiEmulator.ApiEmulator api)
    {
        Api = api;
        Client = api.CreateClient();
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }
    public LifecycleCatalog Catalog => CatalogLoader.Default;

    public static async Task<EmulatedCluster> StartAsync()
    {
        var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        var count = await api.RegisterCrdsFromFolderAsync(RepoPaths.Crds);
        Assert.Equal(8, count);
        return new EmulatedCluster(api);
    }

    public static ApiResource Resource(string kind) => KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(kind));

    public async Task<KubeStackResource> CreateAsync(KubeStackResource obj)
    {
        var r = Resource(obj.Kind);
        obj.ApiVersion = KubeStackResource.GroupVersion;
        return await Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(
            obj, r.Group, r.Version, obj.Metadata.NamespaceProperty ?? "default", r.Plural);
    }

    public async Task<KubeStackResource?> GetAsync(string kind, string name, string ns = "default")
    {
        var r = Resource(kind);
        try
        {
            return await Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(r.Group, r.Version, ns, r.Plural, name);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<KubeStackResource> PatchSpecAsync(string kind, string name, JsonObject spec, string ns = "default")
    {
        var r = Resource(kind);
        var patch = new V1Patch(new JsonObject { ["spec"] = spec }.ToJsonString(), V1Patch.PatchType.MergePatch);
        return await Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, r.Group, r.Version, ns, r.Plural, name);
    }

    public async Task DeleteAsync(string kind, string name, string ns = "default")
    {
        var r = Resource(kind);
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(r.Group, r.Version, ns, r.Plural, name);
    }

    /// <summary>Reads the object until <paramref name="condition"/> holds (or fails after <see cref="Timeout"/>).</summary>
    public async Task<KubeStackResource> WaitForAsync(string kind, string name, Func<KubeStackResource, bool> condition, string what,
        TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetAsync(kind, name);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"{kind} {name}: {what} did not happen in time; last seen: {(last is null ? "absent" : KubernetesJson.Serialize(last))}");
    }

    public async Task WaitForGoneAsync(string kind, string name)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await GetAsync(kind, name) is null)
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"{kind} {name} was not deleted in time.");
    }

    public async Task<IReadOnlyList<Corev1Event>> EventsForAsync(string name, string ns = "default")
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync(ns);
        return list.Items.Where(e => e.InvolvedObject?.Name == name).ToList();
    }

    /// <summary>An in-process agent controller (real informers, queue, processor and API writes) for <paramref name="node"/>.</summary>
    public AgentController NewController(string node, IEnumerable<ILifecycleHandler> handlers, IEnumerable<IObjectCleanup>? cleanups = null,
        IObjectApi? objectApi = null, int workers = 4)
    {
        var processor = new RequestProcessor(
            objectApi ?? new KubeObjectApi(Client, Catalog),
            new HandlerRegistry(handlers, cleanups),
            Catalog,
            new LifecycleEvents(new EventRecorder(Client, "kubestack-node-agent", node), node),
            new RequestRuntimeOptions { NodeName = node },
            NullLogger<RequestProcessor>.Instance);
        return new AgentController(
            Catalog,
            kind => new KubernetesListWatcher<KubeStackResource>(Client, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={node}"),
            processor,
            new AgentControllerOptions
            {
                Workers = workers,
                RetryBaseDelay = TimeSpan.FromMilliseconds(50),
                RetryMaxDelay = TimeSpan.FromSeconds(1),
                WatchMinBackoff = TimeSpan.FromMilliseconds(20),
                WatchMaxBackoff = TimeSpan.FromMilliseconds(200),
            },
            NullLoggerFactory.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
    }
}

/// <summary>Runs a controller in the background for the length of a test.</summary>
internal sealed class RunningController : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningController(AgentController controller)
    {
        Controller = controller;
        _run = Task.Run(() => controller.RunAsync(_stop.Token));
    }

    public AgentController Controller { get; }

    public async Task WaitSyncedAsync()
    {
        var deadline = DateTime.UtcNow + EmulatedCluster.Timeout;
        while (!Controller.HasSynced)
        {
            if (_run.IsCompleted)
            {
                await _run;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The controller did not sync in time.");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(EmulatedCluster.Timeout);
        }
        catch (OperationCanceledException)
        {
        }

        Controller.Dispose();
        _stop.Dispose();
    }
}
