using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// stopPool: stops (virStoragePoolDestroy) an active pool; its volumes stay on disk and the pool stays defined.
/// Stopping an inactive pool is an error, except on a resumed attempt (the pool being inactive is this request's effect).
/// </summary>
public sealed class StopPoolHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "stopPool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Stopping storage pool {context.Name}", Key, context.NodeName, () =>
        {
            var node = context.NodeName;
            PoolOperations.RefuseVendorType(StorageParameters.Optional(context.Parameters, "type"), node);
            using var pool = PoolOperations.Require(libvirt.Connection, context.Name, node);
            if (pool.IsActive())
            {
                pool.Destroy();
            }
            else if (context.Attempt == 1)
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Storage pool {context.Name} is not active on node {node}; there is nothing to stop.");
            }

            var view = PoolView.Build(PoolSnapshot.Read(pool), PoolLabels.Of(context.Object));
            return Task.FromResult(HandlerResult.Succeeded(view, message: $"Storage pool {context.Name} is stopped on node {node}; its volumes are kept."));
        });
    }
}
