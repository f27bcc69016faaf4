using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>startVM: boots a shut-off VM. Starting a running (or paused) VM is an error, as in the seed.</summary>
public sealed class StartVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "startVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Starting", (domain, state) =>
        {
            if (state is DomainState.Shutoff or DomainState.Crashed)
            {
                domain.Create();
                return VmHost.Succeeded(domain, $"VM {context.Name} was started on node {context.NodeName}.");
            }

            if (PowerStates.IsRunning(state) && VmPowerOperation.IsResumed(context))
            {
                return VmHost.Succeeded(domain, $"VM {context.Name} is running on node {context.NodeName} (started by an earlier attempt of this request).");
            }

            return VmHost.WrongState(context, state, "only a shut-off VM can be started.");
        });
}
