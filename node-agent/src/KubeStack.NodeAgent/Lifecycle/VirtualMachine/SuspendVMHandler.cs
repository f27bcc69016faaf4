using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>suspendVM: pauses a running VM. Suspending a suspended (or shut-off) VM is an error, as in the seed.</summary>
public sealed class SuspendVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "suspendVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Suspending", (domain, state) =>
        {
            if (PowerStates.IsRunning(state))
            {
                domain.Suspend();
                return VmHost.Succeeded(domain, DomainState.Paused, $"VM {context.Name} was suspended on node {context.NodeName}.");
            }

            if (state == DomainState.Paused && VmPowerOperation.IsResumed(context))
            {
                return VmHost.Succeeded(domain, $"VM {context.Name} is suspended on node {context.NodeName} (by an earlier attempt of this request).");
            }

            return VmHost.WrongState(context, state, state == DomainState.Paused
                ? "it is already suspended."
                : "only a running VM can be suspended.");
        });
}
