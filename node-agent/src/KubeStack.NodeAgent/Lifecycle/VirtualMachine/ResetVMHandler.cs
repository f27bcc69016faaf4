using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// resetVM: hard reset (virDomainReset, like pressing the reset button). Only a running VM can be reset. A resumed
/// attempt of a running VM does not reset again (at most once: docs/vm-lifecycle.md).
/// </summary>
public sealed class ResetVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "resetVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Resetting", (domain, state) =>
        {
            if (!PowerStates.IsRunning(state))
            {
                return VmHost.WrongState(context, state, "only a running VM can be reset (start or resume it first).");
            }

            if (VmPowerOperation.IsResumed(context))
            {
                return VmHost.Succeeded(domain, $"VM {context.Name} is running on node {context.NodeName}; the reset was done by an earlier attempt of this request.");
            }

            domain.Reset();
            return VmHost.Succeeded(domain, $"VM {context.Name} was reset on node {context.NodeName}.");
        });
}
