using System.Net;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;

namespace KubeStack.Operator.Webhooks;

/// <summary>Reads objects straight from the API server (the webhook runs on every replica, without informers).</summary>
public sealed class ApiResourceLookup : IResourceLookup
{
    private readonly IKubernetes _client;
    private readonly LifecycleCatalog _catalog;

    public ApiResourceLookup(IKubernetes client, LifecycleCatalog catalog)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
    }

    public async Task<KubeStackResource?> GetAsync(string kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        try
        {
            var obj = await _client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(
                KubeStackResource.Group, KubeStackResource.Version, @namespace, _catalog.Kind(kind).Plural, name, cancellationToken).ConfigureAwait(false);
            obj.Kind = kind;
            return obj;
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<KubeStackResource>> FindByNameAsync(string kind, string name, CancellationToken cancellationToken)
    {
        var list = await _client.CustomObjects.ListClusterCustomObjectAsync<ResourceList>(
            KubeStackResource.Group, KubeStackResource.Version, _catalog.Kind(kind).Plural,
            fieldSelector: $"metadata.name={name}", cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var item in list.Items)
        {
            item.Kind = kind;
        }

        return list.Items;
    }

    private sealed class ResourceList
    {
        [JsonPropertyName("items")] public List<KubeStackResource> Items { get; set; } = [];
    }
}
