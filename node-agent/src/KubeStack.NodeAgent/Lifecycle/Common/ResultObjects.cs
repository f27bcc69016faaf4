using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Status;
using KubeStack.Runtime.Api;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>Creates doslab.io objects (the one write <see cref="IObjectApi"/> does not offer); the seam tests replace.</summary>
public interface IObjectCreator
{
    /// <summary>Creates <paramref name="obj"/>; null when an object of that name exists already (409 AlreadyExists).</summary>
    Task<KubeStackResource?> CreateAsync(KubeStackResource obj, CancellationToken cancellationToken);
}

/// <summary><see cref="IObjectCreator"/> on the API server.</summary>
public sealed class KubeObjectCreator(IKubernetes client) : IObjectCreator
{
    public async Task<KubeStackResource?> CreateAsync(KubeStackResource obj, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(obj.Kind));
        try
        {
            var body = JsonNode.Parse(KubernetesJson.Serialize(obj))!;
            var created = await client.CustomObjects.CreateNamespacedCustomObjectAsync<JsonObject>(body, r.Group, r.Version,
                obj.Metadata.NamespaceProperty, r.Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
            return KubernetesJson.Deserialize<KubeStackResource>(created.ToJsonString());
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Conflict)
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubeApiException.From(ex, $"POST {obj.Kind} {obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}");
        }
    }
}

/// <summary>
/// The Kubernetes object of a NEW host object an operation made under a new name (cloneDisk's clone: docs/decisions.md
/// <c>result-objects</c>): created by the agent once the host object is complete, in the request's namespace, labelled
/// <c>host=&lt;this node&gt;</c> (the agent's own node: the node-restriction policy allows nothing else), with the
/// host-cleanup finalizer (kubectl delete removes the host object through the kind's normal cleanup), the result view,
/// no lifecycle request, and status Ready=True. Annotations name the request that made it, so a resumed attempt
/// recognises its own object (created once) and an unrelated object of that name is never taken over.
/// </summary>
public sealed class ResultObjects(IObjectApi objects, IObjectCreator creator)
{
    /// <summary>"&lt;Kind&gt;/&lt;name&gt; &lt;operation&gt;": the request that made the object.</summary>
    public const string ResultOfAnnotation = "kubestack.io/result-of";

    /// <summary>The uid of the object the request ran on (tells a resumed attempt's object from an older one).</summary>
    public const string SourceUidAnnotation = "kubestack.io/result-of-uid";

    /// <summary>The condition reason of a created object.</summary>
    public const string CreatedReason = "CreatedByOperation";

    /// <summary>
    /// Null when <paramref name="name"/> is free in the request's namespace or already this request's result object;
    /// else a refusal sentence naming the object that holds the name (checked before the host work, so nothing is made).
    /// </summary>
    public async Task<string?> ConflictAsync(RequestContext context, string kind, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var existing = await objects.GetAsync(new ResourceKey(kind, context.Namespace, name), cancellationToken).ConfigureAwait(false);
        return existing is null || IsResultOf(existing, context) ? null
            : $"a {kind} object named {name} already exists in namespace {context.Namespace}" +
              (Get(existing.Metadata.Labels, Labels.Host) is { } host ? $" (on node {host})" : string.Empty) +
              "; choose another name or delete that object. Nothing was changed.";
    }

    /// <summary>The object as it is created (pure).</summary>
    public static KubeStackResource Build(RequestContext context, string kind, string name, Action<KubeStackSpec> view)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(view);
        var spec = new KubeStackSpec { NodeName = context.NodeName };
        view(spec);
        return new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = kind,
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = context.Namespace,
                Labels = new Dictionary<string, string> { [Labels.Host] = context.NodeName },
                Annotations = new Dictionary<string, string>
                {
                    [ResultOfAnnotation] = ResultOf(context),
                    [SourceUidAnnotation] = context.Object.Metadata.Uid ?? string.Empty,
                },
                Finalizers = [Finalizers.HostCleanup],
            },
            Spec = spec,
        };
    }

    /// <summary>
    /// Makes sure the result object exists (created once: a resumed attempt finds it) and reports Ready; returns the
    /// sentence for the request's message. Throws <see cref="KubeApiException"/> when the API refuses (the runtime retries).
    /// </summary>
    public async Task<string> EnsureAsync(RequestContext context, string kind, string name, Action<KubeStackSpec> view, CancellationToken cancellationToken)
    {
        var wanted = Build(context, kind, name, view);
        var key = new ResourceKey(kind, context.Namespace, name);
        var created = await creator.CreateAsync(wanted, cancellationToken).ConfigureAwait(false);
        var current = created ?? await objects.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (current is null || !IsResultOf(current, context))
        {
            return $" No {kind} object was created for it: {name} is taken in namespace {context.Namespace} by another object; " +
                   $"apply one named differently with spec.volume.pool to manage it.";
        }

        var message = $"Created by {context.Key} of {context.Kind} {context.Name} on node {context.NodeName}.";
        if (current.Status?.Conditions?.Any(c => c.Type == ConditionTypes.Ready && c.Status == "True") != true)
        {
            await objects.UpdateStatusAsync(key, o =>
            {
                var status = o.Status ??= new KubeStackStatus();
                status.NodeName = context.NodeName;
                status.ObservedGeneration = o.Metadata.Generation;
                RequestRecords.SetCondition(status, ConditionTypes.Ready, "True", CreatedReason, message, o.Metadata.Generation, DateTimeOffset.UtcNow);
                return true;
            }, current, cancellationToken).ConfigureAwait(false);
        }

        return created is null
            ? $" Its {kind} object {context.Namespace}/{name} exists (created by an earlier attempt)."
            : $" The {kind} object {context.Namespace}/{name} was created for it (label {Labels.Host}={context.NodeName}; kubectl delete removes the copy).";
    }

    /// <summary>
    /// For the operations whose result gets no object yet (cloneVM, restoreVM newname, convertVMToImage): the sentence that
    /// tells the user exactly which object to apply to manage it (<paramref name="how"/> adds what that object must carry).
    /// </summary>
    public static string ApplyHint(string kind, string name, string node, string how = "") =>
        $" The agent creates no {kind} object for it: to manage it through Kubernetes, apply a {kind} named {name} labelled {Labels.Host}={node}{how}.";

    private static string ResultOf(RequestContext context) => $"{context.Kind}/{context.Name} {context.Key}";

    private static bool IsResultOf(KubeStackResource obj, RequestContext context) =>
        Get(obj.Metadata.Annotations, ResultOfAnnotation) == ResultOf(context)
        && Get(obj.Metadata.Annotations, SourceUidAnnotation) == (context.Object.Metadata.Uid ?? string.Empty);

    private static string? Get(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var v) ? v : null;
}
