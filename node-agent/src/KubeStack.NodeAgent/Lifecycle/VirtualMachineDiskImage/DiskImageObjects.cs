using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

/// <summary>The pool of a VirtualMachineDiskImage: from its pending request (targetPool, sourcePool), else from spec.volume.pool.</summary>
public static class DiskImagePlace
{
    public static string? PoolOf(KubeStackResource obj) =>
        ObjectRequests.RequestField(obj, "targetPool") ?? ObjectRequests.RequestField(obj, "sourcePool") ?? ObjectRequests.ViewField(obj?.Spec.Volume, "pool");
}

/// <summary>The observed disk image (spec.volume) for a restart or a resync; null when its pool or volume does not exist.</summary>
public sealed class DiskImageStateReader(LibvirtHost libvirt, QemuImg qemuImg) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineDiskImage;

    public async Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (DiskImagePlace.PoolOf(obj) is not { } poolName)
        {
            return null;
        }

        var connection = libvirt.Connection;
        using var pool = connection.TryLookupStoragePoolByName(poolName);
        if (pool is null || !pool.IsActive())
        {
            return null;
        }

        pool.Refresh();
        using var volume = pool.TryLookupStorageVolByName(obj.Metadata.Name);
        if (volume is null)
        {
            return null;
        }

        var info = await qemuImg.InfoAsync(volume.GetPath(), cancellationToken: cancellationToken).ConfigureAwait(false);
        var place = new DiskPlace(obj.Metadata.Name, poolName, ObjectRequests.ViewField(obj.Spec.Volume, "poolname") ?? poolName,
            ObjectRequests.ViewField(obj.Spec.Volume, "disktype") ?? "localfs");
        return new ObservedState(DiskVolumeSteps.View(connection, info, place));
    }
}

/// <summary>
/// kubectl delete of a VirtualMachineDiskImage: the same as deleteDiskImage. While a volume backs onto the image or a VM
/// uses it, the cleanup fails (LibvirtError naming them), the finalizer stays and the runtime retries with backoff. An
/// image whose pool or volume is gone has nothing left to clean up.
/// </summary>
public sealed class DiskImageCleanup(LibvirtHost libvirt, QemuImg qemuImg) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineDiskImage;

    public async Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        if (DiskImagePlace.PoolOf(context.Object) is not { } poolName)
        {
            return HandlerResult.Succeeded(message: $"Disk image {name} names no pool; nothing was created on node {context.NodeName}.");
        }

        if (!ObjectRequests.IsActivePool(libvirt, poolName))
        {
            return HandlerResult.Succeeded(message: $"Storage pool {poolName} of disk image {name} is not active on node {context.NodeName}; nothing left to clean up.");
        }

        var request = ObjectRequests.Context(context.Object, "deleteDiskImage", new JsonObject { ["sourcePool"] = poolName }, context.NodeName, context.Logger);
        return await new DeleteDiskImageHandler(libvirt, qemuImg).HandleAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
