using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>stopVMForce: powers the VM off at once (virDomainDestroy). A VM that is already off is an error.</summary>
public sealed class StopVMForceHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "stopVMForce";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmPowerOperation.RunAsync(context, host, "Force-stopping", (domain, state) =>
        {
            if (state is DomainState.Shutoff or DomainState.Crashed)
            {
                return VmPowerOperation.IsResumed(context)
                    ? VmHost.Succeeded(domain, $"VM {context.Name} is powered off on node {context.NodeName} (by an earlier attempt of this request).")
                    : VmHost.WrongState(context, state, "it is already powered off.");
            }

            domain.Destroy();
            return VmHost.Succeeded(domain, DomainState.Shutoff, $"VM {context.Name} was powered off (forced) on node {context.NodeName}.");
        });
}
