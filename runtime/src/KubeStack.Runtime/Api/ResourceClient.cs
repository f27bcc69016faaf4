using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeStack.Runtime.Informers;

namespace KubeStack.Runtime.Api;

/// <summary>
/// Typed reads and writes of one namespaced custom resource type through the official client's generic
/// custom-object API. Every failure is a <see cref="KubeApiException"/> (409, 404, ... classified by status code).
/// </summary>
public sealed class ResourceClient<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IKubernetes _client;

    public ResourceClient(IKubernetes client, ApiResource resource)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        Resource = resource ?? throw new ArgumentNullException(nameof(resource));
        if (resource.Group.Length == 0)
        {
            throw new ArgumentException($"ResourceClient serves custom resources; {resource} is in the core group.", nameof(resource));
        }
    }

    public ApiResource Resource { get; }

    /// <summary>The object, or null when it does not exist.</summary>
    public async Task<T?> GetAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.CustomObjects.GetNamespacedCustomObjectAsync<T>(
                Resource.Group, Resource.Version, @namespace, Resource.Plural, name, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubeApiException.From(ex, $"GET {Describe(@namespace, name)}");
        }
    }

    /// <summary>
    /// PUT of the status subresource with the object's resourceVersion: 409 Conflict when someone wrote in between.
    /// Only <c>.status</c> is taken from <paramref name="obj"/>.
    /// </summary>
    public async Task<T> ReplaceStatusAsync(T obj, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var (ns, name) = Identity(obj);
        try
        {
            return await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<T>(
                obj, Resource.Group, Resource.Version, ns, Resource.Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw KubeApiException.From(ex, $"PUT {Describe(ns, name)}/status");
        }
    }

    /// <summary>
    /// Read-modify-write of the status with conflict retries: GET the latest object, let <paramref name="mutate"/>
    /// change it (return false to write nothing), PUT the status subresource; on 409 start over from a fresh GET.
    /// Returns the written object, the unchanged object when <paramref name="mutate"/> declined, or null when the
    /// object does not exist. <paramref name="mutate"/> may run several times and must decide from the object it is given.
    /// </summary>
    public async Task<StatusUpdate<T>> UpdateStatusAsync(string @namespace, string name, Func<T, bool> mutate,
        CancellationToken cancellationToken, int maxAttempts = 8, T? current = null)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        for (var attempt = 1; ; attempt++)
        {
            var latest = current ?? await GetAsync(@namespace, name, cancellationToken).ConfigureAwait(false);
            current = null;
            if (latest is null)
            {
                return new StatusUpdate<T>(null, Written: false, Attempts: attempt);
            }

            if (!mutate(latest))
            {
                return new StatusUpdate<T>(latest, Written: false, Attempts: attempt);
            }

            try
            {
                var written = await ReplaceStatusAsync(latest, cancellationToken).ConfigureAwait(false);
                return new StatusUpdate<T>(written, Written: true, Attempts: attempt);
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < maxAttempts)
            {
                // Someone wrote in between: read again and re-apply the change to the newer object.
            }
            catch (KubeApiException ex) when (ex.IsNotFound)
            {
                return new StatusUpdate<T>(null, Written: false, Attempts: attempt);
            }
        }
    }

    /// <summary>
    /// JSON merge patch (RFC 7386) of the object (spec, metadata). Put <c>metadata.resourceVersion</c> in the patch to
    /// make it conditional (409 when the object changed); a null value removes a field.
    /// </summary>
    public async Task<T> PatchAsync(string @namespace, string name, JsonObject mergePatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mergePatch);
        try
        {
            var patch = new V1Patch(mergePatch.ToJsonString(), V1Patch.PatchType.MergePatch);
            return await _client.CustomObjects.PatchNamespacedCustomObjectAsync<T>(
                patch, Resource.Group, Resource.Version, @namespace, Resource.Plural, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw KubeApiException.From(ex, $"PATCH {Describe(@namespace, name)}");
        }
    }

    /// <summary>Deletes the object (only the one with <paramref name="uid"/> when given). False when it was already gone.</summary>
    public async Task<bool> DeleteAsync(string @namespace, string name, string? uid, CancellationToken cancellationToken)
    {
        var options = new V1DeleteOptions
        {
            Preconditions = uid is null ? null : new V1Preconditions { Uid = uid },
            PropagationPolicy = "Background",
        };
        try
        {
            await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                Resource.Group, Resource.Version, @namespace, Resource.Plural, name, body: options, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (HttpOperationException ex)
        {
            throw KubeApiException.From(ex, $"DELETE {Describe(@namespace, name)}");
        }
    }

    private string Describe(string? @namespace, string name) => $"{Resource} {ObjectKey.Of(@namespace, name)}";

    private static (string Namespace, string Name) Identity(T obj)
    {
        var ns = obj.Metadata?.NamespaceProperty;
        var name = obj.Metadata?.Name;
        if (string.IsNullOrEmpty(ns) || string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("The object needs metadata.namespace and metadata.name.", nameof(obj));
        }

        return (ns, name);
    }
}

/// <summary>The result of <see cref="ResourceClient{T}.UpdateStatusAsync"/>.</summary>
public sealed record StatusUpdate<T>(T? Object, bool Written, int Attempts) where T : class;
