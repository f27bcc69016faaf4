using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Informers;

namespace KubeStack.Runtime.Tests.Informers;

public sealed class InformerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Lists_first_then_watches_from_the_lists_resourceVersion_and_reports_synced()
    {
        var lw = new ScriptedListWatcher();
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([Obj("a", "5"), Obj("b", "6")], "10"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        var events = Record(informer);
        using var cts = new CancellationTokenSource();

        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(Timeout);
        var watch = await lw.NextWatch().WaitAsync(Timeout);

        Assert.True(informer.HasSynced);
        Assert.Equal("10", watch.FromResourceVersion);
        Assert.Equal(["Added default/a", "Added default/b"], events.Select(Describe));
        Assert.Equal(2, informer.List().Count);
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_dropped_watch_resumes_from_the_last_resourceVersion_without_relisting()
    {
        var lw = new ScriptedListWatcher();
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([], "10"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        var events = Record(informer);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        var first = await lw.NextWatch().WaitAsync(Timeout);
        await first.Send(WatchEventType.Added, Obj("a", "11"));
        await first.Send(WatchEventType.Modified, Obj("a", "12"));
        first.Fail(new HttpRequestException("connection reset by peer"));

        var second = await lw.NextWatch().WaitAsync(Timeout);
        Assert.Equal("12", second.FromResourceVersion);
        await second.Send(WatchEventType.Deleted, Obj("a", "13"));
        await WaitUntil(() => events.Count == 3);

        Assert.Equal(1, informer.ListCount);
        Assert.Equal(["Added default/a", "Modified default/a", "Deleted default/a"], events.Select(Describe));
        Assert.Empty(informer.List());
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_watch_closed_by_the_server_is_reopened_from_the_last_bookmark()
    {
        var lw = new ScriptedListWatcher();
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([], "10"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        var events = Record(informer);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        var first = await lw.NextWatch().WaitAsync(Timeout);
        await first.Bookmark("42");
        first.Close();
        var second = await lw.NextWatch().WaitAsync(Timeout);

        Assert.Equal("42", second.FromResourceVersion);
        Assert.Empty(events);
        Assert.Equal(1, informer.ListCount);
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Gone_relists_and_synthesizes_deletes_for_objects_that_vanished()
    {
        var lw = new ScriptedListWatcher();
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([Obj("a", "5"), Obj("b", "6"), Obj("c", "7")], "10"));
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([Obj("a", "5"), Obj("c", "20"), Obj("d", "21")], "30"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        var events = Record(informer);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        var first = await lw.NextWatch().WaitAsync(Timeout);
        first.Fail(new ResourceVersionExpiredException());
        var second = await lw.NextWatch().WaitAsync(Timeout);

        Assert.Equal("30", second.FromResourceVersion);
        Assert.Equal(2, informer.ListCount);
        var afterRelist = events.Skip(3).ToList();
        Assert.Equal(["Modified default/c", "Added default/d", "Deleted default/b"], afterRelist.Select(Describe));
        Assert.True(afterRelist[2].Synthesized);
        Assert.Equal("6", afterRelist[2].Object.Metadata.ResourceVersion);
        Assert.Equal(["default/a", "default/c", "default/d"], informer.Keys().Order());
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_failing_list_is_retried_and_nothing_is_synced_before_it_succeeds()
    {
        var lw = new ScriptedListWatcher();
        lw.ListFailures.Enqueue(new KubeApiException(System.Net.HttpStatusCode.ServiceUnavailable, null, "unavailable"));
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([Obj("a", "5")], "10"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        using var cts = new CancellationTokenSource();

        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(2, informer.ListCount);
        Assert.NotNull(informer.Get("default", "a"));
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_throwing_handler_does_not_stop_other_handlers_or_the_watch()
    {
        var lw = new ScriptedListWatcher();
        lw.Lists.Enqueue(new ListResult<KubeStackResource>([], "1"));
        var informer = new Informer<KubeStackResource>(lw, FastOptions);
        informer.AddHandler(_ => throw new InvalidOperationException("boom"));
        var events = Record(informer);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        var watch = await lw.NextWatch().WaitAsync(Timeout);
        await watch.Send(WatchEventType.Added, Obj("a", "2"));
        await watch.Send(WatchEventType.Added, Obj("b", "3"));
        await WaitUntil(() => events.Count == 2);

        Assert.Equal(1, informer.WatchCount);
        await cts.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    private static readonly InformerOptions FastOptions = new()
    {
        Name = "test",
        MinBackoff = TimeSpan.FromMilliseconds(1),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    internal static KubeStackResource Obj(string name, string resourceVersion, string ns = "default") => new()
    {
        Kind = Kinds.VirtualMachineDisk,
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, ResourceVersion = resourceVersion },
    };

    private static ConcurrentQueue<InformerEvent<KubeStackResource>> Record(Informer<KubeStackResource> informer)
    {
        var events = new ConcurrentQueue<InformerEvent<KubeStackResource>>();
        informer.AddHandler(events.Enqueue);
        return events;
    }

    private static string Describe(InformerEvent<KubeStackResource> e) => $"{e.Type} {e.Key}";

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not become true in time.");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>A list-watcher driven by the test: scripted lists, and one channel per watch request.</summary>
    private sealed class ScriptedListWatcher : IListWatcher<KubeStackResource>
    {
        private readonly Channel<WatchSession> _watches = Channel.CreateUnbounded<WatchSession>();

        public ConcurrentQueue<ListResult<KubeStackResource>> Lists { get; } = new();
        public ConcurrentQueue<Exception> ListFailures { get; } = new();

        public Task<ListResult<KubeStackResource>> ListAsync(CancellationToken cancellationToken)
        {
            if (ListFailures.TryDequeue(out var failure))
            {
                throw failure;
            }

            return Lists.TryDequeue(out var list)
                ? Task.FromResult(list)
                : throw new InvalidOperationException("The test scripted no more lists.");
        }

        public async IAsyncEnumerable<WatchEvent<KubeStackResource>> WatchAsync(string resourceVersion,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var session = new WatchSession(resourceVersion);
            await _watches.Writer.WriteAsync(session, cancellationToken);
            await foreach (var item in session.Items.Reader.ReadAllAsync(cancellationToken))
            {
                if (item is Exception ex)
                {
                    throw ex;
                }

                yield return (WatchEvent<KubeStackResource>)item;
            }
        }

        public async Task<WatchSession> NextWatch() => await _watches.Reader.ReadAsync();
    }

    private sealed class WatchSession(string fromResourceVersion)
    {
        public string FromResourceVersion { get; } = fromResourceVersion;
        public Channel<object> Items { get; } = Channel.CreateUnbounded<object>();

        public ValueTask Send(WatchEventType type, KubeStackResource obj) =>
            Items.Writer.WriteAsync(new WatchEvent<KubeStackResource>(type, obj, obj.Metadata.ResourceVersion));

        public ValueTask Bookmark(string resourceVersion) =>
            Items.Writer.WriteAsync(new WatchEvent<KubeStackResource>(WatchEventType.Bookmark, null, resourceVersion));

        public void Fail(Exception ex)
        {
            Items.Writer.TryWrite(ex);
            Items.Writer.TryComplete();
        }

        public void Close() => Items.Writer.TryComplete();
    }
}
