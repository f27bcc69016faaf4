using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>deleteDiskInternalSnapshot: <c>qemu-img snapshot -d</c>. A missing snapshot is an error on a first attempt and success on a resumed one.</summary>
public sealed class DeleteDiskInternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "deleteDiskInternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting an internal snapshot of disk {context.Name}", Key, context.NodeName, async () =>
        {
            var node = context.NodeName;
            var (disk, snapshot) = await DiskInternalSnapshots.PrepareAsync(libvirt, qemuImg, context, Key, cancellationToken).ConfigureAwait(false);
            if (!DiskInternalSnapshots.Has(disk.Info, snapshot))
            {
                if (context.Attempt > 1)
                {
                    return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, disk.Info, disk.Place),
                        message: $"Internal snapshot {snapshot} of disk {context.Name} is already gone on node {node}.");
                }

                throw DiskInternalSnapshots.Missing(context, disk, snapshot);
            }

            DiskInternalSnapshots.RefuseLive(libvirt, disk, Key, node);
            await qemuImg.SnapshotDeleteAsync(disk.Path, snapshot, cancellationToken).ConfigureAwait(false);
            return await DiskInternalSnapshots.SucceededAsync(libvirt, qemuImg, disk,
                $"Internal snapshot {snapshot} of disk {context.Name} was deleted on node {node} ({disk.Path}).", cancellationToken).ConfigureAwait(false);
        });
    }
}
