using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Reliability.Tests;
using KubeStack.Runtime.Informers;

namespace KubeStack.HostIntegration.Tests.Hostile;

/// <summary>How one hostile request ended, as the API shows it after the agent finished with it.</summary>
/// <param name="Deleted">The object went away (a delete request that succeeded).</param>
internal sealed record HostileOutcome(HostileRequest Request, string EventId, RequestPhase? Phase, string? Reason, string? Message, bool Deleted,
    int TerminalEvents, bool Started);

/// <summary>One request sent to the running agent: on a new object, or (Target) on one of the lab's existing objects.</summary>
internal sealed record HostileRequest(string Category, string Label, string Kind, string Key, JsonObject Spec, bool Admitted, string? Parameter, bool OnTarget);

/// <summary>
/// A RUNNING node agent (the built KubeStack.NodeAgent process, every real handler, qemu:///system, ovs-vsctl, ovn-nbctl)
/// on an API emulator whose CRDs keep <c>spec.lifecycle</c> as free JSON and that calls no webhook: a request reaches the
/// agent exactly as written, as if both the webhook and the CRD schema had let it through (webhook down, schema skew).
/// The lab owns a private dir pool with one volume and one defined (shut off) VM, a canary directory outside every
/// allowed root, and a canary file prefix under /tmp; everything is named kst-hostile-&lt;run&gt;.
/// </summary>
public sealed class HostileAgentLab : IAsyncLifetime
{
    public const string Node = StorageAgentHarness.Node;
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(180);
    private static LifecycleCatalog Catalog => CatalogLoader.Default;
    private static readonly string[] TerminalReasons =
        [ErrorClasses.LibvirtError, ErrorClasses.VirtctlError, ErrorClasses.VirtletError, ErrorClasses.Exception];

    private readonly ConcurrentDictionary<string, TaskCompletionSource<KubeStackResource?>> _waiting = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _informerRuns = [];
    private readonly Dictionary<string, Informer<KubeStackResource>> _informers = [];
    private readonly Dictionary<string, System.Threading.Channels.Channel<string>> _freeTargets = [];
    private CapturedProcess? _agent;
    private LibvirtCleanup? _cleanup;
    private int _sequence;

    public string Run { get; } = Guid.NewGuid().ToString("N")[..6];
    public string Prefix => $"kst-hostile-{Run}";
    public string Pool => $"{Prefix}-pool";
    public string PoolPath => StorageRequests.PoolPath(Pool);
    public string Disk => $"{Prefix}-disk";
    public string Vm => $"{Prefix}-vm";
    /// <summary>A directory outside every allowed root that symlinks in the pool point to; it must never change.</summary>
    public string CanaryDir { get; private set; } = "";
    /// <summary>Payloads create /tmp/kst-canary-&lt;run&gt;-N; none may ever exist.</summary>
    public string CanaryPrefix => $"/tmp/kst-canary-{Run}";
    public ApiEmulator.ApiEmulator Api { get; private set; } = null!;
    public Kubernetes Client { get; private set; } = null!;
    public LibvirtConnection Connection { get; private set; } = null!;
    private string _workDir = "";

    /// <summary>Parallel lanes on existing objects: VMs and pools (each object runs one request at a time).</summary>
    private const int Lanes = 4;

    /// <summary>The existing objects of each kind that has them (the first is <see cref="Vm"/>, <see cref="Disk"/>, <see cref="Pool"/>).</summary>
    public IReadOnlyDictionary<string, string[]> Targets { get; }

    public HostileAgentLab()
    {
        Targets = new Dictionary<string, string[]>
        {
            [Kinds.VirtualMachine] = [Vm, .. Enumerable.Range(2, Lanes - 1).Select(i => $"{Vm}{i}")],
            [Kinds.VirtualMachineDisk] = [Disk],
            [Kinds.VirtualMachinePool] = [Pool, .. Enumerable.Range(2, Lanes - 1).Select(i => $"{Pool}{i}")],
        };
    }

    private bool IsTarget(string name) => Targets.Values.Any(t => t.Contains(name));

    public async Task InitializeAsync()
    {
        if (LabEnvironment.WhyNoLab is not null)
        {
            return;
        }

        _workDir = Directory.CreateTempSubdirectory($"{Prefix}-work-").FullName;
        CanaryDir = Directory.CreateTempSubdirectory($"{Prefix}-canary-").FullName;
        File.WriteAllText(Path.Combine(CanaryDir, "victim.qcow2"), "canary: must never change");
        File.WriteAllText(Path.Combine(CanaryDir, "passwd"), "canary");

        Api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions
        {
            BookmarkInterval = TimeSpan.FromMilliseconds(500),
            HistoryWindow = 200_000,
            CallValidatingWebhooks = false,
        });
        Client = Api.CreateClient();
        Assert.Equal(8, await RegisterLooseCrdsAsync());

        Connection = LibvirtConnection.Open(LabEnvironment.SystemUri);
        _cleanup = new LibvirtCleanup(Connection);
        foreach (var name in Targets[Kinds.VirtualMachinePool])
        {
            _cleanup.Pool(name);
            _cleanup.PathToDelete(StorageRequests.PoolPath(name));
            using var pool = Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(name, StorageRequests.PoolPath(name)));
            pool.Build();
            pool.Create();
            if (name == Pool)
            {
                using var vol = pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml(Disk, 64L << 20));
            }
        }

        foreach (var name in Targets[Kinds.VirtualMachine])
        {
            _cleanup.Domain(name);
            using (Connection.DefineXml(LabGuest.DomainXml(name, Path.Combine(_workDir, $"{name}-serial.log"), Path.Combine(PoolPath, Disk))))
            {
            }
        }

        foreach (var kind in Catalog.Kinds.Select(k => k.Kind))
        {
            var informer = new Informer<KubeStackResource>(
                new KubernetesListWatcher<KubeStackResource>(Client, KubeObjectApi.ApiResourceOf(Catalog.Kind(kind)), "default"),
                new InformerOptions { Name = $"hostile-{kind}", MinBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(500) });
            informer.AddHandler(OnObject);
            _informers[kind] = informer;
            _informerRuns.Add(Task.Run(() => informer.RunAsync(_stop.Token)));
        }

        foreach (var informer in _informers.Values)
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        }

        foreach (var (kind, names) in Targets)
        {
            _freeTargets[kind] = System.Threading.Channels.Channel.CreateUnbounded<string>();
            foreach (var name in names)
            {
                await CreateObjectAsync(kind, name, null, "target");
                _freeTargets[kind].Writer.TryWrite(name);
            }
        }

        var kubeconfig = Api.WriteKubeconfig(Path.Combine(_workDir, "kubeconfig"));
        _agent = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null);
    }

    /// <summary>The repository's CRDs with spec.lifecycle reduced to "an object, anything inside" (no per-parameter schema).</summary>
    private async Task<int> RegisterLooseCrdsAsync()
    {
        var n = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(StorageAgentHarness.RepoRoot, "crds"), "*.yaml").Order(StringComparer.Ordinal))
        {
            foreach (var crd in Yaml.LoadAll(await File.ReadAllTextAsync(file)))
            {
                foreach (var version in crd["spec"]!["versions"]!.AsArray())
                {
                    var spec = version!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!["properties"]!.AsObject();
                    spec["lifecycle"] = new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
                }

                await Api.ApplyCrdAsync(crd);
                n++;
            }
        }

        return n;
    }

    private void OnObject(InformerEvent<KubeStackResource> e)
    {
        var o = e.Object;
        var eventId = o.Metadata.Labels is { } labels && labels.TryGetValue(Labels.EventId, out var id) ? id : null;
        if (eventId is null || !_waiting.TryGetValue(eventId, out var waiter))
        {
            return;
        }

        if (e.Type == InformerEventType.Deleted)
        {
            waiter.TrySetResult(null);
        }
        else if (o.Spec.Lifecycle is null && o.Status?.Lifecycle is { } l && l.EventId == eventId && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
        {
            waiter.TrySetResult(o);
        }
    }

    /// <summary>A fresh name under the run prefix (object names are host names: domains, volumes, switches...).</summary>
    public string NewName() => $"{Prefix}-{Interlocked.Increment(ref _sequence)}";

    private async Task<KubeStackResource> CreateObjectAsync(string kind, string name, JsonObject? spec, string eventId)
    {
        var r = KubeObjectApi.ApiResourceOf(Catalog.Kind(kind));
        var body = new JsonObject
        {
            ["apiVersion"] = KubeStackResource.GroupVersion,
            ["kind"] = kind,
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = "default",
                ["labels"] = new JsonObject { [Labels.Host] = Node, [Labels.EventId] = eventId },
            },
            ["spec"] = spec?.DeepClone() ?? new JsonObject(),
        };
        return await Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(body, r.Group, r.Version, "default", r.Plural);
    }

    /// <summary>
    /// Sends <paramref name="request"/> (a new object, or a merge patch of the target's labels and spec.lifecycle) and
    /// waits until the agent ended it; then reads the Events it recorded for that event ID.
    /// </summary>
    internal async Task<HostileOutcome> SendAsync(HostileRequest request)
    {
        var eventId = $"h{Run}-{Interlocked.Increment(ref _sequence)}";
        var waiter = new TaskCompletionSource<KubeStackResource?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[eventId] = waiter;
        var target = request.OnTarget ? await _freeTargets[request.Kind].Reader.ReadAsync() : null;
        string name;
        try
        {
            if (target is not null)
            {
                name = target;
                var r = KubeObjectApi.ApiResourceOf(Catalog.Kind(request.Kind));
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = eventId } },
                    ["spec"] = new JsonObject { ["lifecycle"] = request.Spec["lifecycle"]!.DeepClone() },
                };
                await Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(
                    new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), r.Group, r.Version, "default", r.Plural, name);
            }
            else
            {
                name = NewName();
                await CreateObjectAsync(request.Kind, name, request.Spec, eventId);
            }

            KubeStackResource? done;
            try
            {
                done = await waiter.Task.WaitAsync(RequestTimeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{request.Category} {request.Label}: the agent did not end the request on {request.Kind} {name} within " +
                                           $"{RequestTimeout.TotalSeconds:0} s. Agent output tail:\n{Tail(AgentOutput)}");
            }

            var record = done?.Status?.Lifecycle;
            return new HostileOutcome(request, eventId, record?.Phase ?? (done is null ? RequestPhase.Succeeded : null), record?.Reason, record?.Message,
                done is null, 0, false);
        }
        finally
        {
            _waiting.TryRemove(eventId, out _);
            if (target is not null)
            {
                _freeTargets[request.Kind].Writer.TryWrite(target);
            }
        }
    }

    /// <summary>Runs every request (at most <paramref name="parallel"/> at once; each existing object one request at a time).</summary>
    internal async Task<IReadOnlyList<HostileOutcome>> SendAllAsync(IReadOnlyList<HostileRequest> requests, int parallel = 48)
    {
        using var slots = new SemaphoreSlim(parallel);
        var tasks = requests.Select(async r =>
        {
            await slots.WaitAsync();
            try
            {
                return await SendAsync(r);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        var outcomes = await Task.WhenAll(tasks);
        return await WithEventsAsync(outcomes);
    }

    /// <summary>
    /// Counts the outcome Events (LifecycleSucceeded or an error class) and LifecycleStarted Events of every request by its
    /// event ID. The agent records the outcome Event right after the status, so this waits until each request has one.
    /// </summary>
    private async Task<IReadOnlyList<HostileOutcome>> WithEventsAsync(IReadOnlyList<HostileOutcome> outcomes)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var byId = (await Client.CoreV1.ListNamespacedEventAsync("default")).Items
                .Select(e => (Id: EventIdIn(e.Message), e.Reason))
                .Where(e => e.Id is not null)
                .ToLookup(e => e.Id!, e => e.Reason);
            var counted = outcomes.Select(o => o with
            {
                TerminalEvents = byId[o.EventId].Count(r => r == EventReasons.LifecycleSucceeded || TerminalReasons.Contains(r)),
                Started = byId[o.EventId].Contains(EventReasons.LifecycleStarted),
            }).ToList();
            if (counted.All(o => o.TerminalEvents > 0) || DateTime.UtcNow > deadline)
            {
                return counted;
            }

            await Task.Delay(200);
        }
    }

    private static string? EventIdIn(string? message) =>
        message is null ? null : System.Text.RegularExpressions.Regex.Match(message, @"\(event ID ([^,)]+)") is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>Deletes every object of the run except the targets (kubectl delete; the agent cleans the host side) and waits until they are gone.</summary>
    internal async Task DeleteRunObjectsAsync()
    {
        foreach (var (kind, informer) in _informers)
        {
            var r = KubeObjectApi.ApiResourceOf(Catalog.Kind(kind));
            var names = informer.List().Select(o => o.Metadata.Name).Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && !IsTarget(n)).ToList();
            await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, ct) =>
            {
                try
                {
                    await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(r.Group, r.Version, "default", r.Plural, name, cancellationToken: ct);
                }
                catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                }
            });
        }

        await Await.UntilAsync(() => _informers.Values.SelectMany(i => i.List())
                .All(o => !o.Metadata.Name.StartsWith(Prefix, StringComparison.Ordinal) || IsTarget(o.Metadata.Name)),
            TimeSpan.FromSeconds(120), "every object of the run deleted (host cleanup by the agent)");
    }

    public string AgentOutput => _agent?.Output ?? "";

    public bool AgentExited => _agent?.HasExited ?? true;

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    /// <summary>The agent is alive and serves a valid request: createDisk in the lab pool succeeds, then deleteDisk removes it.</summary>
    internal async Task AssertAgentServesAValidRequestAsync()
    {
        Assert.False(AgentExited, $"the agent process exited. Output tail:\n{Tail(AgentOutput)}");
        var create = await SendAsync(new HostileRequest("valid", "createDisk", Kinds.VirtualMachineDisk, "createDisk",
            HostileCases.Spec("createDisk", StorageRequests.CreateDisk(Pool)), true, null, false));
        Assert.True(create.Phase == RequestPhase.Succeeded, $"a valid createDisk after the hostile requests: {create.Phase} {create.Reason}: {create.Message}");
        await DeleteRunObjectsAsync();
        Assert.Equal([Disk], Directory.GetFiles(PoolPath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public async Task DisposeAsync()
    {
        if (LabEnvironment.WhyNoLab is not null)
        {
            return;
        }

        _agent?.Dispose();
        await _stop.CancelAsync();
        foreach (var run in _informerRuns)
        {
            try
            {
                await run.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (OperationCanceledException)
            {
            }
        }

        Client.Dispose();
        await Api.DisposeAsync();
        HostSweep.RemoveRun(Connection, Prefix);
        _cleanup?.Dispose();
        Connection.Dispose();
        foreach (var dir in new[] { _workDir, CanaryDir })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        _stop.Dispose();
    }
}
