using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Watch;

/// <summary>
/// High availability (autoStartVM): a VM whose recorded power state is up (spec.powerstate Running, Paused...) but
/// which libvirt reports stopped, with no request owning the object (the caller checked), stopped without a request:
/// when its definition carries the <see cref="VmHighAvailability"/> mark, the watcher starts it again and records a
/// Warning Event <see cref="EventReasons.HighAvailabilityRestarted"/>. A requested stop never gets here: while the
/// request runs the object is busy, and when it ends the recorded state already says Shutdown. A start that fails is
/// reported once (Warning) and the views then record the stopped VM, so there is no restart loop.
/// </summary>
public sealed partial class VmStateWatcher
{
    /// <summary>Number of VMs this watcher started again (tests, metrics).</summary>
    public long HighAvailabilityRestarts => Interlocked.Read(ref _haRestarts);

    private long _haRestarts;

    /// <summary>The state to record after the high-availability check: <paramref name="observed"/>, or the restarted VM's.</summary>
    private async Task<(ObservedState Observed, string Cause)> RestartIfHighlyAvailableAsync(KubeStackResource current, ObservedState observed,
        string cause, CancellationToken ct)
    {
        var recorded = current.Spec.PowerState;
        if (observed.PowerState is not (PowerStates.Shutdown or PowerStates.Crashed)
            || recorded is null or PowerStates.Shutdown or PowerStates.Crashed)
        {
            return (observed, cause);
        }

        var name = current.Metadata.Name;
        using var domain = _libvirt.Connection.TryLookupDomainByName(name);
        if (domain is null || !IsMarked(domain))
        {
            return (observed, cause);
        }

        try
        {
            domain.Create();
        }
        catch (LibvirtException ex)
        {
            LogHaRestartFailed(name, ex.LibvirtMessage);
            await _events.RecordAsync(current, EventTypes.Warning, EventReasons.HighAvailabilityRestarted,
                $"VM {name} stopped on node {_node} without a request ({cause}); it is highly available (autoStartVM) but starting it again failed: " +
                $"libvirt reported {ex.Code}: {ex.LibvirtMessage}. It stays stopped; fix the cause and start it with startVM.", ct).ConfigureAwait(false);
            return (observed, cause);
        }

        Interlocked.Increment(ref _haRestarts);
        LogHaRestarted(name, cause);
        await _events.RecordAsync(current, EventTypes.Warning, EventReasons.HighAvailabilityRestarted,
            $"VM {name} stopped on node {_node} without a request ({cause}); it is highly available (autoStartVM), so the agent started it again.",
            ct).ConfigureAwait(false);
        return (VmHost.Observe(domain), $"stopped without a request ({cause}) and started again by high availability");
    }

    /// <summary>The mark, or false (logged) when libvirt cannot tell: the VM is then treated as not highly available.</summary>
    private bool IsMarked(LibvirtDomain domain)
    {
        try
        {
            return VmHighAvailability.IsMarked(domain);
        }
        catch (LibvirtException ex)
        {
            LogHaMarkUnreadable(domain.Name, ex.LibvirtMessage);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The high-availability mark of VM {Name} cannot be read ({Reason}); it is not restarted.")]
    private partial void LogHaMarkUnreadable(string name, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "VM {Name} stopped without a request ({Cause}); high availability started it again.")]
    private partial void LogHaRestarted(string name, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "VM {Name} stopped without a request; high availability could not start it again: {Reason}")]
    private partial void LogHaRestartFailed(string name, string reason);
}
