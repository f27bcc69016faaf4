using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

/// <summary>
/// deleteDiskImage: deletes the image named like the object from <c>sourcePool</c>. Refused (LibvirtError) while any
/// volume of an active pool has it in its backing chain, or any defined VM uses it, naming them: deleting it would
/// corrupt those disks. An image already gone is success (a resumed request converges).
/// </summary>
public sealed class DeleteDiskImageHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskImage;
    public string Key => "deleteDiskImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting disk image {context.Name}", Key, context.NodeName, async () =>
        {
            var node = context.NodeName;
            var poolName = StorageParameters.Required(context.Parameters, "sourcePool", Key);
            var connection = libvirt.Connection;
            if (DiskImageSteps.ExistingVolumePath(connection, poolName, context.Name, node) is not { } path)
            {
                return HandlerResult.Succeeded(message: $"Disk image {context.Name} is not in pool {poolName} on node {node}; nothing was left to delete.");
            }

            var users = await DiskImageSteps.BackedUsersAsync(connection, qemuImg, path, poolName, context.Name, cancellationToken).ConfigureAwait(false);
            if (users.Count > 0)
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Disk image {context.Name} ({path}) on node {node} is still used by {string.Join(", ", users)}; " +
                    "delete those disks or flatten them first. The image was kept.");
            }

            using (var pool = connection.LookupStoragePoolByName(poolName))
            using (var volume = pool.TryLookupStorageVolByName(context.Name))
            {
                volume?.Delete();
            }

            return HandlerResult.Succeeded(message: $"Disk image {context.Name} was deleted from pool {poolName} on node {node} ({path}).");
        });
    }
}
