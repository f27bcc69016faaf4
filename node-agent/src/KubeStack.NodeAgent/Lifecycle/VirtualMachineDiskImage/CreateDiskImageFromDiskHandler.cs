using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

/// <summary>
/// createDiskImageFromDisk: a standalone qcow2 image named like the object in <c>targetPool</c>, converted from the disk
/// <c>sourceVolume</c> of <c>sourcePool</c> (its whole backing chain flattened), through a temporary name and a rename.
/// A source disk a running VM uses is refused (VirtctlError naming the VM: its content is changing). An image of that
/// name already there is success on a resumed attempt when it has the source's size, otherwise an error.
/// </summary>
public sealed class CreateDiskImageFromDiskHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskImage;
    public string Key => "createDiskImageFromDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating disk image {context.Name} from a disk", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var targetPool = StorageParameters.Required(p, "targetPool", Key);
        var sourcePool = StorageParameters.Required(p, "sourcePool", Key);
        var sourceVolume = DiskVolumeSteps.RequireName(p, "sourceVolume", Key);
        var connection = libvirt.Connection;
        var place = new DiskPlace(context.Name, targetPool, targetPool, "localfs");

        var sourcePath = DiskImageSteps.ExistingVolumePath(connection, sourcePool, sourceVolume, node) ?? throw new StorageRefusedException(
            ErrorClasses.LibvirtError, $"Disk {sourceVolume} is not in storage pool {sourcePool} on node {node}; nothing was created.");
        var source = await qemuImg.InfoAsync(sourcePath, cancellationToken: ct).ConfigureAwait(false);

        if (DiskImageSteps.ExistingVolumePath(connection, targetPool, context.Name, node) is { } existingPath)
        {
            var existing = await qemuImg.InfoAsync(existingPath, cancellationToken: ct).ConfigureAwait(false);
            if (context.Attempt > 1 && existing.Format == DiskOperations.Format && existing.VirtualSize == source.VirtualSize && existing.BackingFilename is null)
            {
                return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, existing, place),
                    message: $"Disk image {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"A volume named {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}); choose another name. Nothing was changed.");
        }

        var running = DiskVolumeSteps.RunningUsers(connection, sourcePath, sourcePool, sourceVolume);
        if (running.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key} from disk {sourceVolume} is refused on node {node}: VM {string.Join(", ", running)} is running on it, so its content is changing. " +
                "Stop the VM and submit the request again; nothing was created.");
        }

        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);
        var path = await DiskImageSteps.PlaceAsync(connection, qemuImg, sourcePath, source.Format, targetPool, dir, context.Name,
            DiskImageSteps.PlaceMode.ConvertToQcow2, node, ct).ConfigureAwait(false);
        var created = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, created, place),
            message: $"Disk image {context.Name} was created in pool {targetPool} on node {node} at {path} from disk {sourceVolume} of pool {sourcePool}.");
    }
}
