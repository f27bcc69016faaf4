using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// deleteCloudInitUserDataImage: deletes the seed volume named like the object from <c>pool</c>; refused while a
/// defined VM uses it (naming the VM); a seed already gone is success.
/// </summary>
public sealed class DeleteCloudInitUserDataImageHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "deleteCloudInitUserDataImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting cloud-init seed {context.Name}", Key, context.NodeName, () =>
        {
            var poolName = StorageParameters.Required(context.Parameters, "pool", Key);
            return Task.FromResult(HandlerResult.Succeeded(message: DiskRemoval.Delete(libvirt, context.Name, poolName, context.NodeName)));
        });
    }
}
