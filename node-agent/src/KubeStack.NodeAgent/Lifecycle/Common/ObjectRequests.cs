using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// Lets a finalizer cleanup or a reader reuse a kind's own delete handler: the request context that handler would get for
/// <paramref name="key"/> on the object, with parameters the object's view provides. Marked as a resumed attempt, so a
/// host object that is already gone counts as deleted.
/// </summary>
public static class ObjectRequests
{
    public static RequestContext Context(KubeStackResource obj, string key, JsonObject parameters, string node, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var operation = CatalogLoader.Default.Find(obj.Kind, key) ?? throw new InvalidOperationException($"{obj.Kind} has no operation {key} in the catalog.");
        return new RequestContext
        {
            Object = obj,
            Operation = operation,
            Parameters = parameters,
            NodeName = node,
            Attempt = 2,
            Logger = logger,
        };
    }

    /// <summary>Whether libvirt has an active pool named <paramref name="poolName"/> (a cleanup of a file in an absent or stopped pool has nothing to do).</summary>
    public static bool IsActivePool(LibvirtHost libvirt, string poolName)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        using var pool = libvirt.Connection.TryLookupStoragePoolByName(poolName);
        return pool is not null && pool.IsActive();
    }

    /// <summary>A string field of a flat view (spec.volume), or null when absent or empty.</summary>
    public static string? ViewField(JsonObject? view, string key) =>
        view?[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    /// <summary>A string parameter of the object's pending request, or null.</summary>
    public static string? RequestField(KubeStackResource obj, string key)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var request = obj.Spec.Lifecycle is { Count: 1 } l ? l.First().Value as JsonObject : null;
        return ViewField(request, key);
    }
}
