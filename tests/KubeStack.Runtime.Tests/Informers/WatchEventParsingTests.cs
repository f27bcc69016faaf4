using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Informers;

namespace KubeStack.Runtime.Tests.Informers;

public sealed class WatchEventParsingTests
{
    private static readonly ApiResource Disks = new("doslab.io", "v1", "virtualmachinedisks", Kinds.VirtualMachineDisk);

    private static KubernetesListWatcher<KubeStackResource> NewListWatcher()
    {
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" });
        return new KubernetesListWatcher<KubeStackResource>(client, Disks, labelSelector: "host=node1");
    }

    [Fact]
    public void An_added_event_carries_the_object_and_its_resourceVersion()
    {
        var evt = NewListWatcher().ParseEvent(
            """{"type":"ADDED","object":{"apiVersion":"doslab.io/v1","kind":"VirtualMachineDisk","metadata":{"name":"d1","namespace":"default","resourceVersion":"17"},"spec":{"lifecycle":{"createDisk":{"pool":"p"}}}}}""",
            "1");

        Assert.Equal(WatchEventType.Added, evt.Type);
        Assert.Equal("17", evt.ResourceVersion);
        Assert.Equal("createDisk", evt.Object!.Spec.LifecycleKey);
    }

    [Fact]
    public void A_bookmark_carries_only_the_resourceVersion()
    {
        var evt = NewListWatcher().ParseEvent(
            """{"type":"BOOKMARK","object":{"kind":"VirtualMachineDisk","apiVersion":"doslab.io/v1","metadata":{"resourceVersion":"99"}}}""", "1");

        Assert.Equal(WatchEventType.Bookmark, evt.Type);
        Assert.Null(evt.Object);
        Assert.Equal("99", evt.ResourceVersion);
    }

    [Fact]
    public void An_error_event_with_code_410_means_the_resourceVersion_expired()
    {
        var ex = Assert.Throws<ResourceVersionExpiredException>(() => NewListWatcher().ParseEvent(
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 5 (40)","reason":"Expired","code":410}}""",
            "5"));

        Assert.Contains("too old resource version", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_error_events_become_api_exceptions_with_their_code()
    {
        var ex = Assert.Throws<KubeApiException>(() => NewListWatcher().ParseEvent(
            """{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"etcd unavailable","reason":"InternalError","code":500}}""",
            "5"));

        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Equal("InternalError", ex.Reason);
    }

    [Fact]
    public void Collection_paths_cover_all_namespaces_one_namespace_and_the_core_group()
    {
        Assert.Equal("apis/doslab.io/v1/virtualmachinedisks", Disks.CollectionPath(null));
        Assert.Equal("apis/doslab.io/v1/namespaces/ns1/virtualmachinedisks/d1", Disks.ObjectPath("ns1", "d1"));
        Assert.Equal("api/v1/namespaces/default/events", new ApiResource("", "v1", "events", "Event").CollectionPath("default"));
    }
}
