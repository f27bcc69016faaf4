using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Runtime.Tests.Agent;

/// <summary>
/// The request runtime claiming new submissions from the informer's copy (RequestProcessor.UseCache): no GET on the
/// hot path, and a stale copy never leads to a second run or a doubled Event.
/// </summary>
public sealed class RequestFromCacheTests
{
    private const string Node = "node1";
    private readonly FakeObjectApi _api = new();
    private readonly RecordingEvents _events = new();
    private readonly Dictionary<ResourceKey, KubeStackResource> _cache = [];

    private RequestProcessor Processor(ILifecycleHandler handler, ICrashInjector? crash = null, bool cached = true)
    {
        var processor = new RequestProcessor(_api, new HandlerRegistry([handler]), CatalogLoader.Default, new LifecycleEvents(_events, Node),
            new RequestRuntimeOptions { NodeName = Node }, NullLogger<RequestProcessor>.Instance, crash);
        if (cached)
        {
            processor.UseCache(key => _cache.GetValueOrDefault(key));
        }

        return processor;
    }

    private ResourceKey Submit(string op)
    {
        var obj = _api.Create(TestObjects.New(Kinds.VirtualMachine, "vm1", op));
        var key = new ResourceKey(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        _cache[key] = obj;
        return key;
    }

    [Fact]
    public async Task A_new_request_in_the_cache_is_claimed_without_a_read_and_ends_in_three_writes()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "suspendVM");
        var key = Submit("suspendVM");

        var result = await Processor(handler).ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(WorkResult.Done, result);
        Assert.Equal(0, _api.Reads);
        Assert.Equal(3, _api.Writes);
        Assert.Equal(1, handler.Calls);
        Assert.Equal(RequestPhase.Succeeded, obj.Status!.Lifecycle!.Phase);
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal([EventReasons.LifecycleStarted, EventReasons.LifecycleSucceeded], _events.Reasons);
        // The cached object itself is never written to (other readers share it).
        Assert.Null(_cache[key].Status);
    }

    [Fact]
    public async Task A_stale_cache_copy_of_a_request_whose_outcome_is_recorded_finishes_it_without_running_the_handler_again()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "suspendVM");
        var key = Submit("suspendVM");
        // The first run dies after recording Succeeded, before the spec patch; the cache still holds the submitted object.
        await Assert.ThrowsAsync<SimulatedCrashException>(() =>
            Processor(handler, new ThrowingCrashInjector(CrashPoints.AfterStatus)).ProcessAsync(key, CancellationToken.None));
        Assert.Equal(RequestPhase.Succeeded, _api.Peek(key)!.Status!.Lifecycle!.Phase);

        var processor = Processor(handler);
        var first = await processor.ProcessAsync(key, CancellationToken.None);
        var second = await processor.ProcessAsync(key, CancellationToken.None);

        var obj = _api.Peek(key)!;
        Assert.Equal(WorkResult.After(TimeSpan.Zero), first);
        Assert.Equal(WorkResult.Done, second);
        Assert.Equal(1, handler.Calls);
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal((RequestPhase.Succeeded, 1), (obj.Status!.Lifecycle!.Phase, obj.Status.Lifecycle.Attempts));
        Assert.Single(_events.Reasons, EventReasons.LifecycleStarted);
        Assert.Single(_events.Reasons, EventReasons.LifecycleSucceeded);
    }

    [Fact]
    public async Task A_request_moved_to_another_node_since_the_cache_copy_is_not_claimed_here()
    {
        var handler = new FakeHandler(Kinds.VirtualMachine, "suspendVM");
        var key = Submit("suspendVM");
        _api.Edit(key, o => o.Metadata.Labels[Labels.Host] = "node2");

        var processor = Processor(handler);
        var result = await processor.ProcessAsync(key, CancellationToken.None);
        var again = await processor.ProcessAsync(key, CancellationToken.None);

        Assert.Equal(WorkResult.After(TimeSpan.Zero), result);
        Assert.Equal(WorkResult.Done, again);
        Assert.Equal(0, handler.Calls);
        Assert.Null(_api.Peek(key)!.Status?.Lifecycle);
        Assert.Empty(_events.Reasons);
    }
}
