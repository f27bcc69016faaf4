using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// resizeDisk: grows the disk's volume to <c>capacity</c> bytes (rounded up to a multiple of 512, as qemu-img needs).
/// The catalog says the new size must be larger than the old one, so shrinking is refused (VirtctlError) and so is
/// the same size on a first attempt; a resumed attempt (ctx.Attempt &gt; 1) that finds the size already reached is
/// success. Offline only: a disk a running VM uses is refused with a VirtctlError naming the VM (online growth through
/// virDomainBlockResize is not bound yet).
/// </summary>
public sealed class ResizeDiskHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "resizeDisk";

    /// <summary>The size qemu-img gives a qcow2 image asked for <paramref name="capacity"/> bytes.</summary>
    public static long SizeFor(long capacity) => (capacity + 511) / 512 * 512;

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Resizing disk {context.Name}", Key, context.NodeName, () => ResizeAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> ResizeAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var type = StorageParameters.Required(p, "type", Key);
        PoolOperations.RefuseVendorType(type, node);
        var poolName = StorageParameters.Required(p, "pool", Key);
        var capacity = StorageParameters.Bytes(p, "capacity", Key, DiskOperations.MinCapacity, DiskOperations.MaxCapacity);
        var target = SizeFor(capacity);

        var disk = await DiskVolumeSteps.RequireAsync(libvirt, qemuImg, context, poolName, type, ct).ConfigureAwait(false);
        var current = disk.Info.VirtualSize;
        if (current == target && context.Attempt > 1)
        {
            return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, disk.Info, disk.Place),
                message: $"Disk {context.Name} in pool {poolName} on node {node} already has {current} bytes.");
        }

        if (current >= target)
        {
            throw new RequestParameterException("capacity",
                $"{Key}.capacity must be larger than the disk's current size: disk {context.Name} has {current} bytes and {capacity} " +
                "bytes would not grow it (shrinking is not allowed by the catalog).");
        }

        DiskVolumeSteps.RefuseWhileRunning(libvirt.Connection, disk, Key, node, "resizes a disk");
        await qemuImg.ResizeAsync(disk.Path, target, format: disk.Info.Format, cancellationToken: ct).ConfigureAwait(false);
        using (var pool = DiskOperations.RequireActivePool(libvirt.Connection, poolName, node))
        {
            // Refreshed inside RequireActivePool: libvirt now reports the new capacity.
        }

        var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, info, disk.Place),
            message: $"Disk {context.Name} in pool {poolName} on node {node} was grown from {current} to {info.VirtualSize} bytes.");
    }
}
