using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// deleteDisk: deletes the disk's volume from its pool. Refused while any domain defined on this node (running or
/// not) has it as a disk, naming the VMs. A volume that is already gone is success (a resumed request converges);
/// a pool that does not exist on this node is an error (the disk cannot be found there).
/// </summary>
public sealed class DeleteDiskHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "deleteDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting disk {context.Name}", Key, context.NodeName, () =>
        {
            var node = context.NodeName;
            PoolOperations.RefuseVendorType(StorageParameters.Required(context.Parameters, "type", Key), node);
            var poolName = StorageParameters.Required(context.Parameters, "pool", Key);
            return Task.FromResult(HandlerResult.Succeeded(message: DiskRemoval.Delete(libvirt, context.Name, poolName, node)));
        });
    }
}

/// <summary>Deleting a disk's volume, shared by deleteDisk and kubectl delete.</summary>
public static class DiskRemoval
{
    /// <summary>Deletes the volume unless a domain uses it; returns the sentence that says what happened.</summary>
    public static string Delete(LibvirtHost libvirt, string name, string poolName, string node)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        var connection = libvirt.Connection;
        using var pool = DiskOperations.RequireActivePool(connection, poolName, node);
        using var volume = pool.TryLookupStorageVolByName(name);
        if (volume is null)
        {
            return $"Disk {name} is not in pool {poolName} on node {node}; nothing was left to delete.";
        }

        var path = volume.GetPath();
        var users = DiskOperations.DomainsUsing(connection, path, poolName, name);
        if (users.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {name} ({path}) is attached to VM {string.Join(", ", users)} on node {node}; " +
                "unplug it from the VM or delete the VM first. The disk was kept.");
        }

        volume.Delete();
        return $"Disk {name} was deleted from pool {poolName} on node {node} ({path}).";
    }
}
