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
                throw DiskInternalSnapshots.Missing(context, disk, snapshot);
            }

            DiskInternalSnapshots.RefuseLive(libvirt, disk, Key, node);
            await qemuImg.SnapshotApplyAsync(disk.Path, snapshot, cancellationToken).ConfigureAwait(false);
            return await DiskInternalSnapshots.SucceededAsync(libvirt, qemuImg, disk,
                $"Disk {context.Name} was reverted to its internal snapshot {snapshot} on node {node} ({disk.Path}).", cancellationToken).ConfigureAwait(false);
        });
    }
}
