using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Informers;
using KubeStack.Runtime.Tests.Agent;
using k8s;

namespace KubeStack.Runtime.Tests.Component;

/// <summary>Informer and list-watch over HTTP against the API emulator: watch loss, 410 Gone, selectors, bookmarks.</summary>
public sealed class InformerComponentTests
{
    private static readonly InformerOptions Fast = new()
    {
        Name = "vm",
        MinBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
    };

    [Fact]
    public async Task A_dropped_watch_is_resumed_from_the_last_resourceVersion_and_no_event_is_missed()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var lw = new KubernetesListWatcher<KubeStackResource>(cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachine), labelSelector: "host=node1");
        var informer = new Informer<KubeStackResource>(lw, Fast);
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(e => seen.Enqueue($"{e.Type} {e.Key}"));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(EmulatedCluster.Timeout);

        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-a", null));
        await WaitUntil(() => seen.Contains("Added default/vm-a"));
        var watchesBefore = informer.WatchCount;
        Assert.True(cluster.Api.Faults.DropAllWatches() >= 1);
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-b", null));
        await cluster.DeleteAsync(Kinds.VirtualMachine, "vm-a");
        await WaitUntil(() => seen.Contains("Deleted default/vm-a"));

        Assert.Equal(1, informer.ListCount);
        Assert.True(informer.WatchCount > watchesBefore);
        Assert.Equal(["Added default/vm-a", "Added default/vm-b", "Deleted default/vm-a"], seen);
        Assert.Equal(["default/vm-b"], informer.Keys());
        await cts.CancelAsync();
        await run.WaitAsync(EmulatedCluster.Timeout);
    }

    [Fact]
    public async Task After_410_Gone_the_informer_relists_and_synthesizes_deletes_for_objects_removed_meanwhile()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var gate = new GatedListWatcher(new KubernetesListWatcher<KubeStackResource>(
            cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachine), labelSelector: "host=node1"));
        var informer = new Informer<KubeStackResource>(gate, Fast);
        var seen = new ConcurrentQueue<InformerEvent<KubeStackResource>>();
        informer.AddHandler(seen.Enqueue);
        foreach (var name in new[] { "vm-a", "vm-b", "vm-c" })
        {
            await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, name, null));
        }

        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(EmulatedCluster.Timeout);
        await gate.WatchOpened.WaitAsync(EmulatedCluster.Timeout);

        // The watch goes down and stays down while the cluster changes and the server forgets its history.
        gate.Close();
        cluster.Api.Faults.DropAllWatches();
        await gate.WatchHeld.WaitAsync(EmulatedCluster.Timeout);
        await cluster.DeleteAsync(Kinds.VirtualMachine, "vm-b");
        await cluster.PatchSpecAsync(Kinds.VirtualMachine, "vm-c", new JsonObject { ["powerstate"] = "Running" });
        cluster.Api.Faults.Restart();
        gate.Open();

        await WaitUntil(() => informer.ListCount == 2 && seen.Any(e => e.Synthesized));
        var deleted = seen.Single(e => e.Type == InformerEventType.Deleted);
        Assert.True(deleted.Synthesized);
        Assert.Equal("default/vm-b", deleted.Key);
        Assert.Contains(seen, e => e.Type == InformerEventType.Modified && e.Key == "default/vm-c");
        Assert.Equal(["default/vm-a", "default/vm-c"], informer.Keys().Order());
        Assert.Equal("Running", informer.Get("default", "vm-c")!.Spec.PowerState);
        await cts.CancelAsync();
        await run.WaitAsync(EmulatedCluster.Timeout);
    }

    [Fact]
    public async Task The_label_selector_limits_the_cache_to_this_nodes_objects_across_namespaces()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        await cluster.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "team-b" } });
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachinePool, "pool-mine", null));
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachinePool, "pool-other-ns", null, ns: "team-b"));
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachinePool, "pool-theirs", null, host: "node2"));
        var informer = new Informer<KubeStackResource>(new KubernetesListWatcher<KubeStackResource>(
            cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachinePool), labelSelector: "host=node1"), Fast);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(EmulatedCluster.Timeout);

        Assert.Equal(["default/pool-mine", "team-b/pool-other-ns"], informer.Keys().Order());
        await cts.CancelAsync();
        await run.WaitAsync(EmulatedCluster.Timeout);
    }

    [Fact]
    public async Task Bookmarks_advance_the_resourceVersion_without_events()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        var informer = new Informer<KubeStackResource>(new KubernetesListWatcher<KubeStackResource>(
            cluster.Client, EmulatedCluster.Resource(Kinds.VirtualMachine), labelSelector: "host=node1"), Fast);
        var events = 0;
        informer.AddHandler(_ => Interlocked.Increment(ref events));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(EmulatedCluster.Timeout);
        var listed = long.Parse(informer.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture);

        // Changes to objects of another node move the server's resourceVersion; bookmarks carry it to us.
        await cluster.CreateAsync(TestObjects.New(Kinds.VirtualMachine, "vm-elsewhere", null, host: "node2"));
        await WaitUntil(() => long.Parse(informer.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > listed);

        Assert.Equal(0, events);
        await cts.CancelAsync();
        await run.WaitAsync(EmulatedCluster.Timeout);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + EmulatedCluster.Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not become true in time.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Passes list and watch through, except that new watches wait while the gate is closed.</summary>
    private sealed class GatedListWatcher(IListWatcher<KubeStackResource> inner) : IListWatcher<KubeStackResource>
    {
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _gate = Completed();

        /// <summary>A watch is established: it delivered its first event.</summary>
        public Task WatchOpened => _opened.Task;
        public Task WatchHeld => _held.Task;

        public void Close()
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void Open() => _gate.TrySetResult();

        public Task<ListResult<KubeStackResource>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public async IAsyncEnumerable<WatchEvent<KubeStackResource>> WatchAsync(string resourceVersion,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!_gate.Task.IsCompleted)
            {
                _held.TrySetResult();
                await _gate.Task.WaitAsync(cancellationToken);
            }

            await foreach (var evt in inner.WatchAsync(resourceVersion, cancellationToken))
            {
                // The first event (a bookmark at least) proves the server has registered this watch.
                _opened.TrySetResult();
                yield return evt;
            }
        }

        private static TaskCompletionSource Completed()
        {
            var t = new TaskCompletionSource();
            t.SetResult();
            return t;
        }
    }
}
