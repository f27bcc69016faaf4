using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.NodeAgent.Status;

namespace KubeStack.NodeAgent.Runtime;

/// <summary>
/// A create request that gave up (its retry budget spent, or started too often without finishing) may still have made
/// its effect: an attempt whose reply was lost (libvirtd died after acting) is followed by attempts that all failed
/// before their probe could adopt it. The object then names no place (spec.lifecycle is removed, no view was written),
/// so the outcome records the pool the request was creating in in the annotation <see cref="PoolAnnotation"/>; the
/// kind's cleanup (<c>kubectl delete</c>) looks there too. Only the pool's name is recorded (never other parameters:
/// they may carry secrets), and only on these give-up failures, never on a refusal (a volume that existed before the
/// request, "already exists", is someone else's).
/// </summary>
public static class FailedCreate
{
    /// <summary>The pool a create request that gave up was creating in.</summary>
    public const string PoolAnnotation = "kubestack.io/failed-create-pool";

    /// <summary><paramref name="outcome"/>, with the pool annotation when <paramref name="operation"/> creates in a pool.</summary>
    public static RequestOutcome GaveUp(OperationSpec? operation, JsonNode? parameters, RequestOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (operation?.Effect != OperationEffect.Create
            || parameters is not JsonObject p
            || p["pool"] is not JsonValue v || !v.TryGetValue<string>(out var pool) || pool.Length == 0)
        {
            return outcome;
        }

        return outcome with { Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [PoolAnnotation] = pool } };
    }

    /// <summary>The pool recorded by <see cref="GaveUp"/>, or null.</summary>
    public static string? PoolOf(Contracts.Resources.KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return obj.Metadata.Annotations?.TryGetValue(PoolAnnotation, out var pool) == true && pool.Length > 0 ? pool : null;
    }
}
