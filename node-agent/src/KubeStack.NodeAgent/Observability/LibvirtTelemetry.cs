using System.Diagnostics;

namespace KubeStack.NodeAgent.Observability;

/// <summary>
/// Trace spans of libvirt calls (source <see cref="SourceName"/>): the binding reports each checked call when it
/// returns, as a child of the request's span. The binding sees only the return code, so a span marks the call's
/// completion (function, result) rather than timing it; the request span around it carries the duration.
/// </summary>
public static class LibvirtTelemetry
{
    public const string SourceName = "KubeStack.NodeAgent.Libvirt";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Records a returned libvirt call; cheap (no allocation) when nothing listens or no request span is current.</summary>
    public static void Call(string function, bool failed)
    {
        if (Activity.Current is null || !Source.HasListeners())
        {
            return;
        }

        using var activity = Source.StartActivity("libvirt " + function, ActivityKind.Client);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("libvirt.function", function);
        if (failed)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
