using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// startPool: starts an inactive pool (building its directory when it is missing). Starting an active pool is an error
/// as in libvirt, except on a resumed attempt, where the pool being active is this request's own effect.
/// </summary>
public sealed class StartPoolHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "startPool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Starting storage pool {context.Name}", Key, context.NodeName, () =>
        {
            var node = context.NodeName;
            PoolOperations.RefuseVendorType(StorageParameters.Optional(context.Parameters, "type"), node);
            using var pool = PoolOperations.Require(libvirt.Connection, context.Name, node);
            if (pool.IsActive())
            {
                if (context.Attempt == 1)
                {
                    throw new StorageRefusedException(ErrorClasses.LibvirtError,
                        $"Storage pool {context.Name} is already active on node {node}; there is nothing to start.");
                }
            }
            else
            {
                var before = PoolSnapshot.Read(pool, refresh: false);
                if (before.TargetPath is { } target && !Directory.Exists(target))
                {
                    pool.Build();
                }

                pool.Create();
            }

            var view = PoolView.Build(PoolSnapshot.Read(pool), PoolLabels.Of(context.Object));
            return Task.FromResult(HandlerResult.Succeeded(view, message: $"Storage pool {context.Name} is running on node {node}."));
        });
    }
}
