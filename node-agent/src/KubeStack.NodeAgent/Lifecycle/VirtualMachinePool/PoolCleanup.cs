using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// kubectl delete of a VirtualMachinePool: the same as deletePool. While the pool holds volumes the cleanup fails
/// (LibvirtError, naming the volumes), so the finalizer stays, a CleanupFailed Warning Event says what holds it, and
/// the runtime retries with backoff until the disks are gone.
/// </summary>
public sealed class PoolCleanup(LibvirtHost libvirt) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachinePool;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        return StorageFailures.GuardAsync($"Deleting storage pool {name}", "cleanup", context.NodeName, () =>
        {
            using var pool = libvirt.Connection.TryLookupStoragePoolByName(name);
            return Task.FromResult(pool is null
                ? HandlerResult.Succeeded(message: $"Storage pool {name} is not defined on node {context.NodeName}; nothing to clean up.")
                : HandlerResult.Succeeded(message: PoolOperations.Delete(pool, context.NodeName)));
        });
    }
}

/// <summary>The observed pool (spec.pool) for a restart or a resync; null when libvirt has no pool of that name.</summary>
public sealed class PoolStateReader(LibvirtHost libvirt) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachinePool;

    public Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        using var pool = libvirt.Connection.TryLookupStoragePoolByName(obj.Metadata.Name);
        return Task.FromResult(pool is null ? null : new ObservedState(PoolView.Build(PoolSnapshot.Read(pool), PoolLabels.Of(obj))));
    }
}
