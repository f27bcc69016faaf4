using KubeStack.Contracts.Resources;

namespace KubeStack.NodeAgent.Events;

/// <summary>
/// Reasons of the Kubernetes Events the agent records (architecture §1.5). UpperCamelCase, one place, part of the API:
/// users filter on them (<c>kubectl get events --field-selector reason=LifecycleSucceeded</c>).
/// </summary>
public static class EventReasons
{
    /// <summary>Normal: the agent claimed a request and started (or resumed) its handler.</summary>
    public const string LifecycleStarted = "LifecycleStarted";

    /// <summary>Normal: a request ended successfully.</summary>
    public const string LifecycleSucceeded = "LifecycleSucceeded";

    /// <summary>Normal: the host side of a deleted object was cleaned up and the finalizer removed.</summary>
    public const string HostCleanedUp = "HostCleanedUp";

    /// <summary>Warning: a highly available VM (autoStartVM) stopped without a request and the agent started it again (or could not).</summary>
    public const string HighAvailabilityRestarted = "HighAvailabilityRestarted";

    /// <summary>Warning: libvirt rejected the call (a failed request's error class).</summary>
    public const string LibvirtError = ErrorClasses.LibvirtError;

    /// <summary>Warning: the operation is not supported here.</summary>
    public const string VirtctlError = ErrorClasses.VirtctlError;

    /// <summary>Warning: the host changed behind Kubernetes' back.</summary>
    public const string VirtletError = ErrorClasses.VirtletError;

    /// <summary>Warning: anything else.</summary>
    public const string Exception = ErrorClasses.Exception;
}
