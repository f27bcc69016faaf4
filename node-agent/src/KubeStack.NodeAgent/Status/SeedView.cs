using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.Runtime.Api;

namespace KubeStack.NodeAgent.Status;

/// <summary>
/// The seed's view in <c>spec</c> (architecture §1.3) for existing clients: <c>spec.status</c> shaped like a Kubernetes
/// Status (with the older client's <c>conditions.state.waiting</c>), the observed object under the kind's result key,
/// <c>spec.powerstate</c>, and the removal of <c>spec.lifecycle</c>. Built as one JSON merge patch computed against the
/// latest object and made conditional on its resourceVersion, so that it replaces the view exactly and never removes
/// a request that arrived in the meantime.
/// </summary>
public static class SeedView
{
    /// <summary>Largest result view written into an object (etcd caps objects at ~1.5 MiB).</summary>
    public const int MaxViewBytes = 256 * 1024;

    /// <summary>spec.status for an outcome.</summary>
    public static JsonObject BuildSeedStatus(KubeStackResource obj, RequestOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(outcome);
        var message = RequestRecords.Bound(outcome.Message);
        return new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["status"] = outcome.Succeeded ? "Success" : "Failure",
            ["code"] = CodeOf(outcome),
            ["reason"] = outcome.Reason,
            ["message"] = message,
            ["details"] = new JsonObject
            {
                ["name"] = obj.Metadata?.Name,
                ["kind"] = obj.Kind,
                ["group"] = KubeStackResource.Group,
            },
            ["conditions"] = new JsonObject
            {
                ["state"] = new JsonObject
                {
                    ["waiting"] = new JsonObject
                    {
                        ["reason"] = outcome.Reason,
                        ["message"] = message,
                    },
                },
            },
        };
    }

    /// <summary>HTTP-like code of spec.status: 200 success, 400 for an operation not supported here, 500 otherwise.</summary>
    public static int CodeOf(RequestOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Succeeded ? 200 : outcome.Reason == ErrorClasses.VirtctlError ? 400 : 500;
    }

    /// <summary>
    /// The merge patch that writes the outcome into spec and (when <paramref name="removeLifecycle"/>) removes
    /// spec.lifecycle, conditional on <paramref name="current"/>'s resourceVersion.
    /// </summary>
    /// <param name="current">The latest object (the patch is a diff against it).</param>
    /// <param name="outcome">What to write.</param>
    /// <param name="resultKey">The kind's result key (domain, volume, pool, domainsnapshot, data).</param>
    /// <param name="removeLifecycle">False when a different request replaced the one that ran: it must stay.</param>
    /// <param name="finalizers">The complete desired finalizer list, or null to leave finalizers alone.</param>
    public static JsonObject BuildSpecPatch(KubeStackResource current, RequestOutcome outcome, string resultKey, bool removeLifecycle,
        IReadOnlyList<string>? finalizers = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(outcome);
        var before = JsonNode.Parse(KubernetesJson.Serialize(current.Spec)) as JsonObject ?? [];
        var after = (JsonObject)before.DeepClone();
        if (removeLifecycle)
        {
            after.Remove("lifecycle");
        }

        after["status"] = BuildSeedStatus(current, outcome);
        if (outcome.View is { } view)
        {
            after[resultKey] = view.DeepClone();
        }

        if (outcome.PowerState is { } power && current.Kind == Kinds.VirtualMachine)
        {
            after["powerstate"] = power;
        }

        foreach (var (name, value) in outcome.ExtraSpec ?? [])
        {
            if (name is not "lifecycle" and not "status")
            {
                after[name] = value?.DeepClone();
            }
        }

        if (outcome.MovedToNode is { } moved)
        {
            after["nodeName"] = moved;
        }

        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = current.Metadata?.ResourceVersion },
        };
        if (outcome.MovedToNode is { } movedTo)
        {
            // the object now belongs to the target node's agent (it serves objects labelled host=<node>)
            ((JsonObject)patch["metadata"]!)["labels"] = new JsonObject { [Labels.Host] = movedTo };
        }
        if (outcome.Annotations is { Count: > 0 } annotations)
        {
            var set = new JsonObject();
            foreach (var (name, value) in annotations)
            {
                set[name] = value;
            }

            ((JsonObject)patch["metadata"]!)["annotations"] = set;
        }

        if (JsonMergePatch.CreateDiff(before, after) is { } specDiff)
        {
            patch["spec"] = specDiff;
        }

        if (finalizers is not null)
        {
            ((JsonObject)patch["metadata"]!)["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray());
        }

        return patch;
    }

    /// <summary>A conditional patch of metadata.finalizers only.</summary>
    public static JsonObject BuildFinalizerPatch(KubeStackResource current, IReadOnlyList<string> finalizers)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(finalizers);
        return new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = current.Metadata?.ResourceVersion,
                ["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
            },
        };
    }

    /// <summary>Size of a view as written (UTF-8 JSON bytes).</summary>
    public static int SizeOf(JsonNode? view) =>
        view is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(view.ToJsonString());
}
