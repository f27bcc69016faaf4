using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>revertDiskInternalSnapshot: <c>qemu-img snapshot -a</c> (re-applying the same snapshot converges, so a retry is safe). A missing snapshot is an error.</summary>
public sealed class RevertDiskInternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "revertDiskInternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Reverting disk {context.Name} to an internal snapshot", Key, context.NodeName, async () =>
        {
            var node = context.NodeName;
            var (disk, snapshot) = await DiskInternalSnapshots.PrepareAsync(libvirt, qemuImg, context, Key, cancellationToken).ConfigureAwait(false);
            if (!DiskInternalSnapshots.Has(disk.Info, snapshot))
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Disk {context.Name} ({disk.Path}) on node {node} has no internal snapshot named {snapshot} " +
                    $"(it has: {Names(disk.Info)}). Nothing was changed.");
            }

            DiskInternalSnapshots.RefuseLive(libvirt, disk, Key, node);
            await qemuImg.SnapshotApplyAsync(disk.Path, snapshot, cancellationToken).ConfigureAwait(false);
            var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, info, disk.Place),
                message: $"Disk {context.Name} was reverted to its internal snapshot {snapshot} on node {node} ({disk.Path}).");
        });
    }

    internal static string Names(QemuImgInfo info) => info.Snapshots.Count == 0 ? "none" : string.Join(", ", info.Snapshots.Select(s => s.Name));
}
