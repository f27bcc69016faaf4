using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>createAndStartVMFromISO: defines the VM with its CD-ROM and disks and boots it (see <see cref="VmCreate"/>).</summary>
public sealed class CreateAndStartVMFromISOHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "createAndStartVMFromISO";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmCreate.RunAsync(context, host, VmCreateKind.FromIso);
}
