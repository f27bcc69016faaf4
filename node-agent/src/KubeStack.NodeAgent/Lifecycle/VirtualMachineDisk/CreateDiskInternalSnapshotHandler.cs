using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>createDiskInternalSnapshot: <c>qemu-img snapshot -c</c>. A snapshot of that name already there is an error on a first attempt and success on a resumed one.</summary>
public sealed class CreateDiskInternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "createDiskInternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating an internal snapshot of disk {context.Name}", Key, context.NodeName, async () =>
        {
            var node = context.NodeName;
            var (disk, snapshot) = await DiskInternalSnapshots.PrepareAsync(libvirt, qemuImg, context, Key, cancellationToken).ConfigureAwait(false);
            if (DiskInternalSnapshots.Has(disk.Info, snapshot))
            {
                if (context.Attempt > 1)
                {
                    return HandlerResult.Succeeded(DiskVolumeSteps.View(libvirt.Connection, disk.Info, disk.Place),
                        message: $"Disk {context.Name} on node {node} already has the internal snapshot {snapshot}.");
                }

                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Disk {context.Name} ({disk.Path}) on node {node} already has an internal snapshot named {snapshot}; choose another name. Nothing was changed.");
            }

            DiskInternalSnapshots.RefuseLive(libvirt, disk, Key, node);
            await qemuImg.SnapshotCreateAsync(disk.Path, snapshot, cancellationToken).ConfigureAwait(false);
            return await DiskInternalSnapshots.SucceededAsync(libvirt, qemuImg, disk,
                $"Internal snapshot {snapshot} of disk {context.Name} was created on node {node} ({disk.Path}).", cancellationToken).ConfigureAwait(false);
        });
    }
}
