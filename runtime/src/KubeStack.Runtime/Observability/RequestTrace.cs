using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace KubeStack.Runtime.Observability;

/// <summary>
/// One trace per lifecycle request across the webhook, the operator and the agent.
/// <para>
/// The parent of each component's span is the annotation <see cref="Annotation"/> (W3C traceparent) when the object
/// carries a valid one (a client may set it to join its own trace; the operator writes its span there when it places a
/// request), else a context derived from the request's identity (kind, namespace, name, operation key, event ID): the
/// webhook, which cannot write the object, and an agent that sees the request before the operator's patch land in the
/// same trace without any write.
/// </para>
/// </summary>
public static class RequestTrace
{
    /// <summary>The W3C traceparent of the request (00-&lt;trace id&gt;-&lt;span id&gt;-01).</summary>
    public const string Annotation = "doslab.io/traceparent";

    /// <summary>The parent context of a component's span for this request.</summary>
    public static ActivityContext ParentOf(string kind, string? ns, string? name, string? operationKey, string? eventId,
        IDictionary<string, string>? annotations)
    {
        if (annotations is not null && annotations.TryGetValue(Annotation, out var text)
            && ActivityContext.TryParse(text, null, isRemote: true, out var parsed))
        {
            return parsed;
        }

        return Derived(kind, ns, name, operationKey, eventId);
    }

    /// <summary>The context derived from the request identity alone (the same in every component).</summary>
    public static ActivityContext Derived(string kind, string? ns, string? name, string? operationKey, string? eventId)
    {
        var identity = string.Join('\u001f', kind, ns ?? "", name ?? "", operationKey ?? "", eventId ?? "");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(identity));
        return new ActivityContext(
            ActivityTraceId.CreateFromBytes(hash.AsSpan(0, 16)),
            ActivitySpanId.CreateFromBytes(hash.AsSpan(16, 8)),
            ActivityTraceFlags.Recorded,
            isRemote: true);
    }

    /// <summary>The traceparent text of <paramref name="activity"/> (for the annotation).</summary>
    public static string Format(Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-01";
    }
}
