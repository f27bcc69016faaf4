using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>resumeVM: resumes a suspended VM. Resuming a running (or shut-off) VM is an error, as in the seed.</summary>
public sealed class ResumeVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "resumeVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Resuming", (domain, state) =>
        {
            if (state == DomainState.Paused)
            {
                domain.Resume();
                return VmHost.Succeeded(domain, DomainState.Running, $"VM {context.Name} was resumed on node {context.NodeName}.");
            }

            if (PowerStates.IsRunning(state) && VmPowerOperation.IsResumed(context))
            {
                return VmHost.Succeeded(domain, $"VM {context.Name} is running on node {context.NodeName} (resumed by an earlier attempt of this request).");
            }

            return VmHost.WrongState(context, state, PowerStates.IsRunning(state)
                ? "it is not suspended."
                : "only a suspended VM can be resumed.");
        });
}
