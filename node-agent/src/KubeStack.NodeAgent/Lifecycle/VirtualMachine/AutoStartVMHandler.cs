using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// autoStartVM: high availability (the seed's meaning). The VM gets the <see cref="VmHighAvailability"/> mark and
/// libvirt autostart; from then on the agent's VM watcher starts it again whenever it stops without a KubeStack request
/// (virsh destroy, a guest poweroff, a crash, or found stopped after an agent restart). <c>disable=true</c> removes
/// both, and the watcher leaves it stopped. Effective at once (the catalog's "after a reboot" is not needed here).
/// Converges: setting what is already set is success. Read back: autostart and the mark in the definition (and in the
/// running domain).
/// </summary>
public sealed class AutoStartVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "autoStartVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting high availability of", domain =>
        {
            var on = StorageParameters.Flag(context.Parameters, "disable", Key) != true;
            if (!domain.IsPersistent())
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"autoStartVM refused: VM {context.Name} on node {context.NodeName} is transient (no persistent definition), so it cannot be restarted after it stops.");
            }

            var running = VmDeviceOperation.IsRunning(domain);
            if (VmHighAvailability.IsMarked(domain) != on || (running && VmHighAvailability.IsMarkedLive(domain) != on))
            {
                VmHighAvailability.Mark(domain, on);
            }

            if (domain.GetAutostart() != on)
            {
                domain.SetAutostart(on);
            }

            if (domain.GetAutostart() != on || VmHighAvailability.IsMarked(domain) != on)
            {
                return VmDeviceOperation.NotApplied(context, $"the domain's autostart or high-availability mark is not {(on ? "set" : "cleared")}");
            }

            return VmHost.Succeeded(domain, on
                ? $"VM {context.Name} on node {context.NodeName} is highly available: the agent starts it again when it stops without a request, and libvirt starts it with the host."
                : $"VM {context.Name} on node {context.NodeName} is no longer highly available: it stays stopped when it stops, and libvirt no longer starts it with the host.");
        });
}
