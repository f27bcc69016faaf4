using KubeStack.Contracts.Resources;
using KubeStack.Operator.Webhooks;
using KubeStack.Runtime.Informers;

namespace KubeStack.Operator.Controllers;

/// <summary>Reads objects from the controller's informer caches (no API call per check).</summary>
public sealed class InformerLookup : IResourceLookup
{
    private readonly IReadOnlyDictionary<string, Informer<KubeStackResource>> _informers;

    public InformerLookup(IReadOnlyDictionary<string, Informer<KubeStackResource>> informers) => _informers = informers;

    public Task<KubeStackResource?> GetAsync(string kind, string @namespace, string name, CancellationToken cancellationToken) =>
        Task.FromResult(_informers.TryGetValue(kind, out var informer) ? WithKind(informer.Get(@namespace, name), kind) : null);

    public Task<IReadOnlyList<KubeStackResource>> FindByNameAsync(string kind, string name, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<KubeStackResource>>(_informers.TryGetValue(kind, out var informer)
            ? informer.List().Where(o => o.Metadata.Name == name).Select(o => WithKind(o, kind)!).ToList()
            : []);

    private static KubeStackResource? WithKind(KubeStackResource? obj, string kind)
    {
        if (obj is not null && string.IsNullOrEmpty(obj.Kind))
        {
            obj.Kind = kind;
        }

        return obj;
    }
}
