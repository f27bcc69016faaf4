using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// kubectl delete of a VirtualMachineDisk: its volume is deleted unless a VM uses it. While a VM uses it the cleanup
/// fails (LibvirtError naming the VM), so the finalizer stays, a CleanupFailed Warning Event says what holds it, and
/// the runtime retries with backoff. A disk whose pool or volume is gone has nothing left to clean up. A createDisk that
/// gave up after all attempts is found through the pool it recorded (<see cref="FailedCreate.PoolAnnotation"/>).
/// </summary>
public sealed class DiskCleanup(LibvirtHost libvirt) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineDisk;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        var node = context.NodeName;
        return StorageFailures.GuardAsync($"Deleting disk {name}", "cleanup", node, () =>
        {
            // A createDisk that gave up names its pool only in the FailedCreate annotation: its volume (same name in
            // that pool) may exist, made by an attempt whose reply was lost.
            var poolName = DiskPlace.Of(context.Object)?.Pool ?? FailedCreate.PoolOf(context.Object);
            if (poolName is null)
            {
                return Task.FromResult(HandlerResult.Succeeded(message: $"Disk {name} names no pool; nothing was created on node {node}."));
            }

            using (var pool = libvirt.Connection.TryLookupStoragePoolByName(poolName))
            {
                if (pool is null)
                {
                    return Task.FromResult(HandlerResult.Succeeded(message:
                        $"Storage pool {poolName} of disk {name} is not defined on node {node}; nothing left to clean up."));
                }
            }

            return Task.FromResult(HandlerResult.Succeeded(message: DiskRemoval.Delete(libvirt, name, poolName, node)));
        });
    }
}

/// <summary>The observed disk (spec.volume) for a restart or a resync; null when its volume does not exist.</summary>
public sealed class DiskStateReader(LibvirtHost libvirt, QemuImg qemuImg) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineDisk;

    public async Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (DiskPlace.Of(obj) is not { } place)
        {
            return null;
        }

        var connection = libvirt.Connection;
        using var pool = connection.TryLookupStoragePoolByName(place.Pool);
        if (pool is null || !pool.IsActive())
        {
            return null;
        }

        pool.Refresh();
        using var volume = pool.TryLookupStorageVolByName(place.Name);
        if (volume is null)
        {
            return null;
        }

        var info = await qemuImg.InfoAsync(volume.GetPath(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return new ObservedState(DiskOperations.View(info, place, DiskOperations.DomainsUsing(connection, info.Filename, place.Pool, place.Name)));
    }
}
