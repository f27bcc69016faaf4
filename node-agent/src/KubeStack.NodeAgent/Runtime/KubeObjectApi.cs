using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Informers;

namespace KubeStack.NodeAgent.Runtime;

/// <summary><see cref="IObjectApi"/> on the API server, one <see cref="ResourceClient{T}"/> per kind.</summary>
public sealed class KubeObjectApi : IObjectApi
{
    private readonly Dictionary<string, ResourceClient<KubeStackResource>> _clients;

    public KubeObjectApi(IKubernetes client, LifecycleCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _clients = catalog.Kinds.ToDictionary(k => k.Kind, k => new ResourceClient<KubeStackResource>(client, ApiResourceOf(k)));
    }

    public static ApiResource ApiResourceOf(KindSpec kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return new ApiResource(KubeStackResource.Group, KubeStackResource.Version, kind.Plural, kind.Kind);
    }

    public Task<KubeStackResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken) =>
        Client(key).GetAsync(key.Namespace, key.Name, cancellationToken);

    public Task<StatusUpdate<KubeStackResource>> UpdateStatusAsync(ResourceKey key, Func<KubeStackResource, bool> mutate,
        KubeStackResource? current, CancellationToken cancellationToken) =>
        Client(key).UpdateStatusAsync(key.Namespace, key.Name, mutate, cancellationToken, current: current);

    public Task<KubeStackResource> PatchAsync(ResourceKey key, JsonObject mergePatch, CancellationToken cancellationToken) =>
        Client(key).PatchAsync(key.Namespace, key.Name, mergePatch, cancellationToken);

    public Task<bool> DeleteAsync(ResourceKey key, string? uid, CancellationToken cancellationToken) =>
        Client(key).DeleteAsync(key.Namespace, key.Name, uid, cancellationToken);

    private ResourceClient<KubeStackResource> Client(ResourceKey key) =>
        _clients.TryGetValue(key.Kind, out var client)
            ? client
            : throw new ArgumentException($"Kind {key.Kind} is not a doslab.io/v1 kind.", nameof(key));
}
