using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// Internal snapshots of a qcow2 disk (create/revert/delete DiskInternalSnapshot), made offline with
/// <c>qemu-img snapshot</c>. A disk a running VM uses is refused with a VirtctlError naming the VM: live internal
/// snapshots through libvirt are not implemented by this agent (stop the VM, or use an external snapshot).
/// </summary>
public static class DiskInternalSnapshots
{
    /// <summary>The request's parts: the disk (qcow2, not held by a running VM) and the snapshot name.</summary>
    public static async Task<(DiskVolumeSteps.ExistingDisk Disk, string Snapshot)> PrepareAsync(LibvirtHost libvirt, QemuImg qemuImg,
        RequestContext context, string operation, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var type = StorageParameters.Required(p, "type", operation);
        PoolOperations.RefuseVendorType(type, context.NodeName);
        var poolName = StorageParameters.Required(p, "pool", operation);
        var snapshot = DiskVolumeSteps.RequireName(p, "snapshotname", operation);
        var disk = await DiskVolumeSteps.RequireAsync(libvirt, qemuImg, context, poolName, type, ct).ConfigureAwait(false);
        DiskVolumeSteps.RequireQcow2(disk, operation, context.NodeName);
        return (disk, snapshot);
    }

    /// <summary>Refuses while a running VM holds the disk (live internal snapshots are not implemented).</summary>
    public static void RefuseLive(LibvirtHost libvirt, DiskVolumeSteps.ExistingDisk disk, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        DiskVolumeSteps.RefuseWhileRunning(libvirt.Connection, disk, operation, node,
            "handles internal disk snapshots (qemu-img snapshot, offline)");
    }

    public static bool Has(QemuImgInfo info, string snapshot)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Snapshots.Any(s => s.Name == snapshot);
    }

    /// <summary>The refusal for a snapshot name the disk does not have (LibvirtError; lists the names it has).</summary>
    public static StorageRefusedException Missing(RequestContext context, DiskVolumeSteps.ExistingDisk disk, string snapshot)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(disk);
        var names = disk.Info.Snapshots.Count == 0 ? "none" : string.Join(", ", disk.Info.Snapshots.Select(s => s.Name));
        return new StorageRefusedException(ErrorClasses.LibvirtError,
            $"Disk {context.Name} ({disk.Path}) on node {context.NodeName} has no internal snapshot named {snapshot} " +
            $"(it has: {names}). Nothing was changed.");
    }

    /// <summary>Success after a qemu-img snapshot change: the disk's view read again from the file.</summary>
    public static async Task<HandlerResult> SucceededAsync(LibvirtHost libvirt, QemuImg qemuImg, DiskVolumeSteps.ExistingDisk disk, string message,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(disk);
        var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, info, disk.Place), message: message);
    }
}
