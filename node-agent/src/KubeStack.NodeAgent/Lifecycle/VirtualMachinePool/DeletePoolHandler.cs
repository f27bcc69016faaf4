using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// deletePool: refused while the pool holds volumes (its only parameter, type, asks nothing else); otherwise the pool
/// is stopped, its directory removed when empty and its definition undefined. A pool that is not defined on this node
/// is already deleted (success), so a resumed request converges.
/// </summary>
public sealed class DeletePoolHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "deletePool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting storage pool {context.Name}", Key, context.NodeName, () =>
        {
            PoolOperations.RefuseVendorType(StorageParameters.Optional(context.Parameters, "type"), context.NodeName);
            using var pool = libvirt.Connection.TryLookupStoragePoolByName(context.Name);
            if (pool is null)
            {
                return Task.FromResult(HandlerResult.Succeeded(message:
                    $"Storage pool {context.Name} is not defined on node {context.NodeName}; nothing was left to delete."));
            }

            return Task.FromResult(HandlerResult.Succeeded(message: PoolOperations.Delete(pool, context.NodeName)));
        });
    }
}
