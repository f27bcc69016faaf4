using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// rebootVM: asks the guest to reboot (virDomainReboot, libvirt picks ACPI or the guest agent). Only a running VM can
/// be rebooted. A resumed attempt of a running VM does not reboot again (at most once: docs/vm-lifecycle.md).
/// </summary>
public sealed class RebootVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "rebootVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Rebooting", (domain, state) =>
        {
            if (!PowerStates.IsRunning(state))
            {
                return VmHost.WrongState(context, state, "only a running VM can be rebooted (start or resume it first).");
            }

            if (VmPowerOperation.IsResumed(context))
            {
                return VmHost.Succeeded(domain, $"VM {context.Name} is running on node {context.NodeName}; the reboot was requested by an earlier attempt of this request.");
            }

            domain.Reboot();
            return VmHost.Succeeded(domain, $"VM {context.Name} was asked to reboot on node {context.NodeName}.");
        });
}
