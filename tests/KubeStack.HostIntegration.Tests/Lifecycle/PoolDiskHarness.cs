using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Lifecycle;

/// <summary>
/// The storage slice end to end in one process: the API emulator with the repository's CRDs, and the agent's real
/// runtime (informers, work queue, request state machine, status and spec writes, Events, finalizers) running the
/// real pool and disk handlers, cleanups and readers against libvirtd on qemu:///system.
/// </summary>
internal sealed class StorageAgentHarness : IAsyncDisposable
{
    public const string Node = "lab-node";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private AgentController? _controller;

    private StorageAgentHarness(ApiEmulator.ApiEmulator api, LibvirtConnection connection)
    {
        Api = api;
        Client = api.CreateClient();
        Connection = connection;
        Libvirt = new LibvirtHost(() => connection);
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }
    public LibvirtConnection Connection { get; }
    public LibvirtHost Libvirt { get; }
    public static LifecycleCatalog Catalog => CatalogLoader.Default;

    public static async Task<StorageAgentHarness> StartAsync(bool runAgent = true, StorageAgentSetup? setup = null)
    {
        setup ??= new StorageAgentSetup();
        var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        Assert.Equal(8, await api.RegisterCrdsFromFolderAsync(Path.Combine(RepoRoot, "crds")));
        var harness = new StorageAgentHarness(api, LibvirtConnection.Open(setup.Uri));
        if (runAgent)
        {
            await harness.StartAgentAsync(setup);
        }

        return harness;
    }

    public static string RepoRoot => RepoPaths.Root;

    private async Task StartAgentAsync(StorageAgentSetup setup)
    {
        var qemuImg = QemuImg.Default;
        ILifecycleHandler[] handlers =
        [
            new CreatePoolHandler(Libvirt, PoolDriverRegistry.Default), new DeletePoolHandler(Libvirt), new StartPoolHandler(Libvirt),
            new StopPoolHandler(Libvirt), new AutoStartPoolHandler(Libvirt), new ShowPoolHandler(Libvirt),
            new CreateDiskHandler(Libvirt, qemuImg), new DeleteDiskHandler(Libvirt),
            new ResizeDiskHandler(Libvirt, qemuImg),
            new CloneDiskHandler(Libvirt, qemuImg, new ResultObjects(new KubeObjectApi(Client, Catalog), new KubeObjectCreator(Client))),
        ];
        handlers = [.. handlers.Select(setup.Wrap)];
        IObjectCleanup[] cleanups = [new PoolCleanup(Libvirt), new DiskCleanup(Libvirt)];
        IObservedStateReader[] readers = [new PoolStateReader(Libvirt), new DiskStateReader(Libvirt, qemuImg)];
        var processor = new RequestProcessor(
            new KubeObjectApi(Client, Catalog),
            new HandlerRegistry(handlers, cleanups, readers),
            Catalog,
            new LifecycleEvents(new EventRecorder(Client, "kubestack-node-agent", Node), Node),
            new RequestRuntimeOptions { NodeName = Node },
            NullLogger<RequestProcessor>.Instance);
        _controller = new AgentController(
            Catalog,
            kind => new KubernetesListWatcher<KubeStackResource>(Client, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={Node}"),
            processor,
            new AgentControllerOptions
            {
                Workers = 4,
                RetryBaseDelay = setup.RetryBaseDelay,
                RetryMaxDelay = setup.RetryMaxDelay,
                WatchMinBackoff = TimeSpan.FromMilliseconds(20),
                WatchMaxBackoff = TimeSpan.FromMilliseconds(200),
            },
            NullLoggerFactory.Instance);
        _run = Task.Run(() => _controller.RunAsync(_stop.Token));
        var deadline = DateTime.UtcNow + Timeout;
        while (!_controller.HasSynced)
        {
            if (_run.IsCompleted)
            {
                await _run;
            }

            Assert.True(DateTime.UtcNow < deadline, "The agent controller did not sync in time.");
            await Task.Delay(10);
        }
    }

    /// <summary>A started libvirt dir pool under /mnt/localfs defined directly (no object); <paramref name="cleanup"/> removes it and its directory.</summary>
    public (string Name, string Path) NewDirPool(LibvirtCleanup cleanup)
    {
        ArgumentNullException.ThrowIfNull(cleanup);
        var name = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var path = cleanup.PathToDelete(StorageRequests.PoolPath(name));
        using var pool = Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(name, path));
        pool.Build();
        pool.Create();
        return (name, path);
    }

    private static ApiResource Resource(string kind) => KubeObjectApi.ApiResourceOf(Catalog.Kind(kind));

    /// <summary>Creates an object labelled for this node carrying one request (what kubectl apply of a new resource does).</summary>
    public async Task<KubeStackResource> ApplyAsync(string kind, string name, string operation, JsonObject parameters, string eventId = "ev-1")
    {
        var r = Resource(kind);
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = kind,
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

    /// <summary>Puts a new request into an existing object's spec.lifecycle (a merge patch, as kubectl patch does).</summary>
    public async Task SubmitAsync(string kind, string name, string operation, JsonObject parameters)
    {
        var r = Resource(kind);
        var patch = new V1Patch(new JsonObject { ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { [operation] = parameters } } }.ToJsonString(),
            V1Patch.PatchType.MergePatch);
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(patch, r.Group, r.Version, "default", r.Plural, name);
    }

    public async Task<KubeStackResource?> GetAsync(string kind, string name)
    {
        var r = Resource(kind);
        try
        {
            return await Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(r.Group, r.Version, "default", r.Plural, name);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>kubectl delete.</summary>
    public async Task DeleteAsync(string kind, string name)
    {
        var r = Resource(kind);
        await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(r.Group, r.Version, "default", r.Plural, name);
    }

    /// <summary>Waits until the request <paramref name="operation"/> ended (spec.lifecycle removed, status Succeeded or Failed).</summary>
    public Task<KubeStackResource> FinishedAsync(string kind, string name, string operation) =>
        WaitForAsync(kind, name, o => o.Spec.Lifecycle is null && o.Status?.Lifecycle is { } l && l.Key == operation
                                      && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed && o.Spec.Status is not null,
            $"{operation} finishing");

    public async Task<KubeStackResource> WaitForAsync(string kind, string name, Func<KubeStackResource, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetAsync(kind, name);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{kind} {name}: {what} did not happen within {Timeout.TotalSeconds:0} s; last seen: " +
                                   (last is null ? "absent" : KubernetesJson.Serialize(last)));
    }

    public async Task WaitGoneAsync(string kind, string name)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await GetAsync(kind, name) is null)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{kind} {name} was not deleted within {Timeout.TotalSeconds:0} s: {KubernetesJson.Serialize(await GetAsync(kind, name))}");
    }

    public async Task<IReadOnlyList<Corev1Event>> EventsAsync(string name)
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync("default");
        return list.Items.Where(e => e.InvolvedObject?.Name == name).OrderBy(e => e.FirstTimestamp).ToList();
    }

    /// <summary>Waits for an Event with <paramref name="reason"/> on <paramref name="name"/>.</summary>
    public async Task<Corev1Event> EventAsync(string name, string reason)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if ((await EventsAsync(name)).FirstOrDefault(e => e.Reason == reason) is { } hit)
            {
                return hit;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No {reason} Event on {name} within {Timeout.TotalSeconds:0} s; saw: " +
                                   string.Join(", ", (await EventsAsync(name)).Select(e => e.Reason)));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (OperationCanceledException)
            {
            }
        }

        _controller?.Dispose();
        _stop.Dispose();
        Client.Dispose();
        await Api.DisposeAsync();
        Connection.Dispose();
    }
}

/// <summary>Where the harness's agent connects and how it runs (defaults: the lab's qemu:///system, the handlers as they are).</summary>
internal sealed record StorageAgentSetup
{
    public string Uri { get; init; } = LabEnvironment.SystemUri;

    /// <summary>Wraps every handler (fault injection around the real handlers).</summary>
    public Func<ILifecycleHandler, ILifecycleHandler> Wrap { get; init; } = handler => handler;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Request parameters as clients send them (strings).</summary>
internal static class StorageRequests
{
    public const long OneGigabyte = 1_073_741_824;

    public static JsonObject CreatePool(string url, string type = "dir", bool autostart = true) => new()
    {
        ["type"] = type,
        ["content"] = "vmd",
        ["url"] = url,
        ["autostart"] = autostart,
    };

    public static JsonObject CreateDisk(string pool, long capacity = OneGigabyte) => new()
    {
        ["type"] = "localfs",
        ["pool"] = pool,
        ["capacity"] = capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["format"] = "qcow2",
    };

    public static JsonObject DeleteDisk(string pool) => new() { ["type"] = "localfs", ["pool"] = pool };

    public static JsonObject PoolType() => new() { ["type"] = "localfs" };

    /// <summary>A pool directory under /mnt/localfs (an allowed root) that lab-down --purge recognises.</summary>
    public static string PoolPath(string poolName) => $"/mnt/localfs/{poolName}";
}
