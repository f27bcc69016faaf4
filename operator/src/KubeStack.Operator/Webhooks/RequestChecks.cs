using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;

namespace KubeStack.Operator.Webhooks;

/// <summary>Reads doslab.io objects for the checks (informer caches in the controller, the API in the webhook).</summary>
public interface IResourceLookup
{
    Task<KubeStackResource?> GetAsync(string kind, string @namespace, string name, CancellationToken cancellationToken);

    /// <summary>Every object of <paramref name="kind"/> called <paramref name="name"/>, in any namespace.</summary>
    Task<IReadOnlyList<KubeStackResource>> FindByNameAsync(string kind, string name, CancellationToken cancellationToken);
}

/// <summary>Why a request is refused: <see cref="Reason"/> is a short UpperCamelCase class, <see cref="Message"/> a sentence.</summary>
public sealed record RequestProblem(string Reason, string Message);

/// <summary>The reasons of refused requests (admission messages, status.lifecycle.reason, Warning Events).</summary>
public static class ProblemReasons
{
    /// <summary>The seed's IllegalFormatException: a parameter breaks its rule or is not documented.</summary>
    public const string IllegalFormat = "IllegalFormat";
    /// <summary>A referenced object, or the object an update acts on, does not exist.</summary>
    public const string NotFound = "NotFound";
    /// <summary>A create whose object already exists on the node.</summary>
    public const string AlreadyExists = "AlreadyExists";
    /// <summary>A request while another one on the same object is still running.</summary>
    public const string RequestInProgress = "RequestInProgress";
    /// <summary>A dependency lives on another node than the request.</summary>
    public const string DependencyOnOtherNode = "DependencyOnOtherNode";
    /// <summary>No node can take the request.</summary>
    public const string Unschedulable = "Unschedulable";
    /// <summary>The request's node has no live agent.</summary>
    public const string NodeUnreachable = "NodeUnreachable";
}

/// <summary>
/// The checks shared by the admission webhook and the controller (architecture §1.2, synchronous rejections):
/// the validation library (IllegalFormat: rules, undocumented parameters, key valid for the kind), a request while
/// another is running, a create on an object that already has a host side (or whose name is taken on the node by an
/// object of another namespace: libvirt names are per host), an update on an object that was never created (the
/// catalog's dependsOn), and the objects named by <c>references</c> parameters, which must exist (and, once the node is
/// known, be on that node unless the operation moves things between nodes).
/// </summary>
public sealed class RequestChecks
{
    private readonly LifecycleCatalog _catalog;
    private readonly IResourceLookup _lookup;

    public RequestChecks(LifecycleCatalog catalog, IResourceLookup lookup)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _lookup = lookup ?? throw new ArgumentNullException(nameof(lookup));
    }

    public LifecycleCatalog Catalog => _catalog;

    /// <summary>The node that owns an object: status.nodeName (written by the agent), else the host label, else spec.nodeName.</summary>
    public static string? NodeOf(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (!string.IsNullOrEmpty(obj.Status?.NodeName))
        {
            return obj.Status.NodeName;
        }

        if (obj.Metadata?.Labels?.TryGetValue(Labels.Host, out var host) == true && !string.IsNullOrEmpty(host))
        {
            return host;
        }

        return string.IsNullOrEmpty(obj.Spec.NodeName) ? null : obj.Spec.NodeName;
    }

    /// <summary>True when the agent has recorded the object's host side (the seed's result view is set).</summary>
    public static bool HasHostSide(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var s = obj.Spec;
        return s.Domain is not null || s.Volume is not null || s.Pool is not null || s.DomainSnapshot is not null || s.Data is not null;
    }

    private static string ResultKeyOf(LifecycleCatalog catalog, string kind) => catalog.Kinds.FirstOrDefault(k => k.Kind == kind)?.ResultKey ?? "result view";

    private static string Subject(KubeStackResource obj) => $"{obj.Kind} '{obj.Metadata.Name}'";

    /// <summary>The pure checks (no cluster access): the validation library.</summary>
    public RequestProblem? CheckFormat(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var spec = JsonSerializer.SerializeToNode(obj.Spec, KubernetesJsonOptions) as JsonObject;
        var message = RequestValidator.FirstErrorMessage(obj.Kind, obj.Metadata.Name ?? "", spec, _catalog);
        return message is null ? null : new RequestProblem(ProblemReasons.IllegalFormat, message);
    }

    /// <summary>
    /// A request on <paramref name="previous"/> that has not ended: spec.lifecycle still present and
    /// status.lifecycle Accepted or Running for that spec.
    /// </summary>
    public static RequestProblem? CheckInProgress(KubeStackResource obj, KubeStackResource previous)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(previous);
        var record = previous.Status?.Lifecycle;
        if (previous.Spec.LifecycleKey is not { } running || record is null || record.Phase is not (RequestPhase.Accepted or RequestPhase.Running)
            || record.Key != running)
        {
            return null;
        }

        var next = obj.Spec.LifecycleKey ?? "(another request)";
        return new RequestProblem(ProblemReasons.RequestInProgress,
            $"{Subject(obj)}: request '{running}' (event {record.EventId ?? "none"}) is still {record.Phase.ToString().ToLowerInvariant()} on node {previous.Status?.NodeName ?? "(not yet placed)"}; " +
            $"submit '{next}' after it ends (when spec.lifecycle is removed). One request at a time per object.");
    }

    /// <summary>Checks that read the cluster: existence of the object's host side and of referenced objects.</summary>
    /// <param name="obj">The object carrying the request (spec.lifecycle has one valid key).</param>
    /// <param name="targetNode">The node the request will run on, when known (same-node dependencies, name clashes).</param>
    public async Task<RequestProblem?> CheckClusterAsync(KubeStackResource obj, string? targetNode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var key = obj.Spec.LifecycleKey;
        var operation = key is null ? null : _catalog.Find(obj.Kind, key);
        if (operation is null)
        {
            return null;
        }

        var ns = obj.Metadata.NamespaceProperty ?? "default";
        var name = obj.Metadata.Name ?? "";
        if (operation.Effect == OperationEffect.Create)
        {
            if (HasHostSide(obj))
            {
                return new RequestProblem(ProblemReasons.AlreadyExists,
                    $"{Subject(obj)}: {key} refused: the {obj.Kind} already exists on node {NodeOf(obj) ?? "(unknown)"} (spec.{ResultKeyOf(_catalog, obj.Kind)} is set); delete it first or create one with another name.");
            }

            if (targetNode is not null)
            {
                foreach (var other in await _lookup.FindByNameAsync(obj.Kind, name, cancellationToken).ConfigureAwait(false))
                {
                    if (other.Metadata.NamespaceProperty != ns && HasHostSide(other) && NodeOf(other) == targetNode)
                    {
                        return new RequestProblem(ProblemReasons.AlreadyExists,
                            $"{Subject(obj)}: {key} refused: a {obj.Kind} named '{name}' already exists on node {targetNode} (namespace {other.Metadata.NamespaceProperty}); host names are per node, so choose another name.");
                    }
                }
            }
        }
        else if (!HasHostSide(obj) && string.IsNullOrEmpty(obj.Status?.NodeName))
        {
            var needs = string.IsNullOrWhiteSpace(operation.DependsOn) ? "" : $" ({operation.DependsOn.Trim().TrimEnd('.')})";
            return new RequestProblem(ProblemReasons.NotFound,
                $"{Subject(obj)}: {key} needs an existing {obj.Kind}, but this one has not been created on any node yet{needs}; create it first.");
        }

        var parameters = obj.Spec.Lifecycle?[key!] as JsonObject;
        foreach (var parameter in operation.Parameters.Where(p => p.Rule?.References is not null))
        {
            if (parameters?[parameter.Name] is not JsonValue v || v.GetValueKind() != JsonValueKind.String || v.GetValue<string>() is not { Length: > 0 } referenced)
            {
                continue;
            }

            var kind = parameter.Rule!.References!;
            var target = kind == obj.Kind && referenced == name ? obj : await _lookup.GetAsync(kind, ns, referenced, cancellationToken).ConfigureAwait(false);
            if (target is null)
            {
                return new RequestProblem(ProblemReasons.NotFound,
                    $"{Subject(obj)}: parameter '{parameter.Name}' of operation '{key}' names {kind} '{referenced}', which does not exist in namespace {ns} (rule references); create it first or fix the name.");
            }

            if (targetNode is not null && !MovesBetweenNodes(operation) && NodeOf(target) is { } where && where != targetNode)
            {
                return new RequestProblem(ProblemReasons.DependencyOnOtherNode,
                    $"{Subject(obj)}: parameter '{parameter.Name}' of operation '{key}' names {kind} '{referenced}', which is on node {where}, but the request runs on node {targetNode}; both must be on the same node.");
            }
        }

        return null;
    }

    /// <summary>The first node among the objects the request references (a disk goes where its pool is).</summary>
    public async Task<string?> ReferencedNodeAsync(KubeStackResource obj, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var key = obj.Spec.LifecycleKey;
        var operation = key is null ? null : _catalog.Find(obj.Kind, key);
        if (operation is null || MovesBetweenNodes(operation) || obj.Spec.Lifecycle?[key!] is not JsonObject parameters)
        {
            return null;
        }

        foreach (var parameter in operation.Parameters.Where(p => p.Rule?.References is not null))
        {
            if (parameters[parameter.Name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } referenced
                && await _lookup.GetAsync(parameter.Rule!.References!, obj.Metadata.NamespaceProperty ?? "default", referenced, cancellationToken).ConfigureAwait(false) is { } target
                && NodeOf(target) is { } node)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Memory a VM create asks for (parameter memory, MiB), in bytes; 0 when not a VM create.</summary>
    public static long MemoryBytesOf(KubeStackResource obj, OperationSpec operation)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(operation);
        if (operation.Effect != OperationEffect.Create || operation.Parameter("memory") is null
            || obj.Spec.Lifecycle?[operation.Key]?["memory"] is not JsonValue v || v.GetValueKind() != JsonValueKind.String
            || !long.TryParse(v.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var mib))
        {
            return 0;
        }

        return mib * 1024 * 1024;
    }

    /// <summary>Operations that move an object between nodes or pools (migrate*): their references may be elsewhere.</summary>
    public static bool MovesBetweenNodes(OperationSpec operation) =>
        operation.Key.StartsWith("migrate", StringComparison.Ordinal);

    private static readonly JsonSerializerOptions KubernetesJsonOptions = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
