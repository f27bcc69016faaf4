using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// createAndStartVMFromImage: defines the VM on its system disk — an existing disk image file under the allowed roots
/// (made by createDisk/createDiskImage or copied there) — and boots it from the disk (see <see cref="VmCreate"/>).
/// Copying a VirtualMachineImage into a new disk arrives with that kind (docs/vm-lifecycle.md).
/// </summary>
public sealed class CreateAndStartVMFromImageHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "createAndStartVMFromImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmCreate.RunAsync(context, host, VmCreateKind.FromImage);
}
