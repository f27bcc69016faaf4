using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>
/// Watch semantics through KubernetesClient (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
/// resume from a resourceVersion, 410 Gone for one older than the history, bookmarks, selectors, timeouts, and faults.
/// </summary>
public sealed class WatchTests : IAsyncLifetime
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    ApiEmulator _api = null!;
    IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiEmulator.StartAsync(new EmulatorOptions { HistoryWindow = 50, BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        await TestCrds.InstallAsync(_api);
        _client = _api.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    /// <summary>Runs a watch in the background, collecting its events and errors into channels.</summary>
    sealed class Collector : IAsyncDisposable
    {
        readonly CancellationTokenSource _cts = new();
        public Channel<(WatchEventType Type, TestVm Vm)> Events { get; } = Channel.CreateUnbounded<(WatchEventType, TestVm)>();
        public Channel<Exception> Errors { get; } = Channel.CreateUnbounded<Exception>();
        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly Task _loop;

        public Collector(IKubernetes c, string? rv, string? labelSelector = null, string? fieldSelector = null, bool bookmarks = false, int? timeoutSeconds = null)
        {
            _loop = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in c.WatchVmsAsync(rv, ex => Errors.Writer.TryWrite(ex), _cts.Token, labelSelector: labelSelector, fieldSelector: fieldSelector, bookmarks: bookmarks, timeoutSeconds: timeoutSeconds))
                        Events.Writer.TryWrite(e);
                }
                catch (OperationCanceledException) { }
                catch (Exception e) when (e is HttpRequestException or IOException) { Errors.Writer.TryWrite(e); }
                finally { Closed.TrySetResult(); }
            });
        }

        public async Task<(WatchEventType Type, TestVm Vm)> NextAsync() =>
            await Events.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        /// <summary>The next event that is not a bookmark.</summary>
        public async Task<(WatchEventType Type, TestVm Vm)> NextChangeAsync()
        {
            while (true)
            {
                var e = await NextAsync();
                if (e.Type != WatchEventType.Bookmark) return e;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync();
            try { await _loop.WaitAsync(Timeout); } catch (OperationCanceledException) { }
            _cts.Dispose();
        }
    }

    [Fact]
    public async Task Watch_without_resourceVersion_starts_with_ADDED_for_existing_objects()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.CreateAsync(TestCrds.NewVm("b"));
        await using var w = new Collector(_client, rv: null);
        var names = new[] { await w.NextAsync(), await w.NextAsync() };
        Assert.All(names, e => Assert.Equal(WatchEventType.Added, e.Type));
        Assert.Equal(["a", "b"], names.Select(e => e.Vm.Metadata.Name).Order());
    }

    [Fact]
    public async Task Watch_resumes_from_a_resourceVersion_with_every_later_change_in_order_and_nothing_earlier()
    {
        await _client.CreateAsync(TestCrds.NewVm("before"));
        var (_, listRv) = await _client.ListVmsAsync();
        // changes made while no watch is open
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.MergePatchAsync("a", new { spec = new { nodeName = "n2" } });
        await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "a");

        await using var w = new Collector(_client, listRv);
        var e1 = await w.NextAsync();
        var e2 = await w.NextAsync();
        var e3 = await w.NextAsync();
        Assert.Equal((WatchEventType.Added, "a"), (e1.Type, e1.Vm.Metadata.Name));
        Assert.Equal((WatchEventType.Modified, "n2"), (e2.Type, (string?)e2.Vm.Spec!["nodeName"]));
        Assert.Equal(WatchEventType.Deleted, e3.Type);
        var rvs = new[] { e1, e2, e3 }.Select(e => long.Parse(e.Vm.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(rvs[0] < rvs[1] && rvs[1] < rvs[2]);

        // and live changes follow
        await _client.CreateAsync(TestCrds.NewVm("live"));
        var e4 = await w.NextAsync();
        Assert.Equal((WatchEventType.Added, "live"), (e4.Type, e4.Vm.Metadata.Name));
        Assert.False(w.Events.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Watch_from_a_resourceVersion_older_than_the_history_gets_410_Expired_and_a_relist_recovers()
    {
        _api.Faults.HistoryWindow = 5;
        await _client.CreateAsync(TestCrds.NewVm("x"));
        var (_, oldRv) = await _client.ListVmsAsync();
        for (int i = 0; i < 10; i++) await _client.MergePatchAsync("x", new { spec = new { replicas = i % 4 } });

        await using var w = new Collector(_client, oldRv);
        var error = await w.Errors.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        var ke = Assert.IsType<KubernetesException>(error);
        Assert.Equal(410, ke.Status.Code);
        Assert.Equal("Expired", ke.Status.Reason);
        Assert.StartsWith("too old resource version", ke.Status.Message, StringComparison.Ordinal);
        await w.Closed.Task.WaitAsync(Timeout);

        // the informer's answer: list again, watch from the list's resourceVersion
        var (items, freshRv) = await _client.ListVmsAsync();
        Assert.Single(items);
        await using var w2 = new Collector(_client, freshRv);
        await _client.MergePatchAsync("x", new { spec = new { nodeName = "after" } });
        var e = await w2.NextAsync();
        Assert.Equal((WatchEventType.Modified, "after"), (e.Type, (string?)e.Vm.Spec!["nodeName"]));
    }

    [Fact]
    public async Task Label_selector_watch_sends_ADDED_when_an_object_starts_matching_and_DELETED_when_it_stops()
    {
        await _client.CreateAsync(TestCrds.NewVm("vm1", node: "n1"));
        var (_, rv) = await _client.ListVmsAsync();
        await using var w = new Collector(_client, rv, labelSelector: "host=n2");
        await _client.CreateAsync(TestCrds.NewVm("other", node: "n3"));
        await _client.MergePatchAsync("vm1", new { metadata = new { labels = new { host = "n2" } } });
        var added = await w.NextAsync();
        Assert.Equal((WatchEventType.Added, "vm1"), (added.Type, added.Vm.Metadata.Name));
        await _client.MergePatchAsync("vm1", new { metadata = new { labels = new { host = "n1" } } });
        var removed = await w.NextAsync();
        Assert.Equal((WatchEventType.Deleted, "vm1"), (removed.Type, removed.Vm.Metadata.Name));
        Assert.False(w.Events.Reader.TryRead(out _)); // "other" never matched
    }

    [Fact]
    public async Task Field_selector_watch_on_metadata_name_sees_only_that_object()
    {
        var (_, rv) = await _client.ListVmsAsync();
        await using var w = new Collector(_client, rv, fieldSelector: "metadata.name=b");
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.CreateAsync(TestCrds.NewVm("b"));
        var e = await w.NextAsync();
        Assert.Equal("b", e.Vm.Metadata.Name);
    }

    [Fact]
    public async Task Bookmarks_arrive_when_asked_and_carry_a_resourceVersion_to_resume_from()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var (_, rv) = await _client.ListVmsAsync();
        await using var w = new Collector(_client, rv, bookmarks: true);
        var b = await w.NextAsync();
        Assert.Equal(WatchEventType.Bookmark, b.Type);
        Assert.Equal(rv, b.Vm.Metadata.ResourceVersion);
        await _client.CreateAsync(TestCrds.NewVm("b"));
        var e = await w.NextChangeAsync();
        Assert.Equal((WatchEventType.Added, "b"), (e.Type, e.Vm.Metadata.Name));
    }

    [Fact]
    public async Task Watch_ends_after_timeoutSeconds()
    {
        var (_, rv) = await _client.ListVmsAsync();
        await using var w = new Collector(_client, rv, timeoutSeconds: 1);
        await w.Closed.Task.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Status_only_changes_arrive_as_MODIFIED_with_unchanged_generation()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var (_, rv) = await _client.ListVmsAsync();
        await using var w = new Collector(_client, rv);
        await _client.MergePatchAsync("a", new { status = new { powerState = "Running" } }, status: true);
        var e = await w.NextAsync();
        Assert.Equal(WatchEventType.Modified, e.Type);
        Assert.Equal(1, e.Vm.Metadata.Generation);
        Assert.Equal("Running", (string?)e.Vm.Status!["powerState"]);
    }

    // ------------------------------------------------------------------ fault injection

    [Fact]
    public async Task DropAllWatches_closes_open_streams_and_a_rewatch_from_the_last_resourceVersion_misses_nothing()
    {
        var (_, rv) = await _client.ListVmsAsync();
        var w = new Collector(_client, rv);
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var first = await w.NextAsync();
        await WaitUntil(() => _api.Faults.DropAllWatches() > 0 || w.Closed.Task.IsCompleted);
        await w.Closed.Task.WaitAsync(Timeout);
        await w.DisposeAsync();

        await _client.CreateAsync(TestCrds.NewVm("b")); // while nobody watches
        await using var w2 = new Collector(_client, first.Vm.Metadata.ResourceVersion);
        var e = await w2.NextAsync();
        Assert.Equal((WatchEventType.Added, "b"), (e.Type, e.Vm.Metadata.Name));
    }

    [Fact]
    public async Task Restart_forgets_history_so_an_old_resourceVersion_gets_410_while_objects_survive()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var (_, rv) = await _client.ListVmsAsync();
        await _client.CreateAsync(TestCrds.NewVm("b"));
        _api.Faults.Restart();
        await using var w = new Collector(_client, rv);
        var error = Assert.IsType<KubernetesException>(await w.Errors.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal(410, error.Status.Code);
        Assert.Equal(2, (await _client.ListVmsAsync()).Items.Count);
    }

    [Theory]
    [InlineData(500, "InternalError")]
    [InlineData(429, "TooManyRequests")]
    [InlineData(409, "Conflict")]
    public async Task FailNext_fails_exactly_the_next_matching_requests_with_the_code(int code, string reason)
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        _api.Faults.FailNext(2, code, verb: "patch", resource: "virtualmachines/status");
        await _client.GetVmAsync("a"); // other verbs are not affected
        await _client.MergePatchAsync("a", new { spec = new { nodeName = "n" } }); // nor the main resource
        for (int i = 0; i < 2; i++)
        {
            var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.MergePatchAsync("a", new { status = new { powerState = "x" } }, status: true));
            Assert.Equal(code, (int)e.Response.StatusCode);
            Assert.Equal(reason, (string?)JsonNode.Parse(e.Response.Content)!["reason"]);
        }
        var ok = await _client.MergePatchAsync("a", new { status = new { powerState = "x" } }, status: true);
        Assert.Equal("x", (string?)ok.Status!["powerState"]);
    }

    [Fact]
    public async Task Pause_holds_requests_until_Resume()
    {
        _api.Faults.Pause();
        var pending = _client.ListVmsAsync();
        await Task.Delay(200); // a request must not complete while paused (bounded wait, checked below)
        Assert.False(pending.IsCompleted);
        _api.Faults.Resume();
        var (items, _) = await pending.WaitAsync(Timeout);
        Assert.Empty(items);
    }

    static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(20);
        }
    }
}
