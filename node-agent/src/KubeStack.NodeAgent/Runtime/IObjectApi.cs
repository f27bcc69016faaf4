using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Api;

namespace KubeStack.NodeAgent.Runtime;

/// <summary>
/// The agent's reads and writes of doslab.io objects (the seam the request state machine is tested at).
/// Errors are <see cref="KubeApiException"/>: 409 when a conditional write lost a race, 404 when the object is gone.
/// </summary>
public interface IObjectApi
{
    Task<KubeStackResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken);

    /// <summary>
    /// GET (or use <paramref name="current"/> first) → <paramref name="mutate"/> → PUT status, again from a fresh GET on 409.
    /// </summary>
    Task<StatusUpdate<KubeStackResource>> UpdateStatusAsync(ResourceKey key, Func<KubeStackResource, bool> mutate,
        KubeStackResource? current, CancellationToken cancellationToken);

    /// <summary>JSON merge patch; conditional when the patch carries metadata.resourceVersion.</summary>
    Task<KubeStackResource> PatchAsync(ResourceKey key, JsonObject mergePatch, CancellationToken cancellationToken);

    /// <summary>Deletes the object with this uid; false when it was already gone.</summary>
    Task<bool> DeleteAsync(ResourceKey key, string? uid, CancellationToken cancellationToken);
}
