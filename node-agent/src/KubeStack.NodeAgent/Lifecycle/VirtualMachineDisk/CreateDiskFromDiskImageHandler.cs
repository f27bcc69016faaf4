using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// createDiskFromDiskImage: a disk named like the object in <c>targetPool</c> from the image file <c>source</c>
/// (resolved inside the allowed roots). The catalog's default ("created from a snapshot") is a qcow2 overlay whose
/// backing file is the image, with the image's format recorded as backing format; <c>full_copy</c> true makes a
/// standalone qcow2 copy instead. Written under a temporary name and renamed. A disk of that name already there is
/// success on a resumed attempt when it has the expected shape (backing file or none), otherwise an error.
/// </summary>
public sealed class CreateDiskFromDiskImageHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "createDiskFromDiskImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating disk {context.Name} from a disk image", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var type = StorageParameters.Required(p, "type", Key);
        PoolOperations.RefuseVendorType(type, node);
        var targetPool = StorageParameters.Required(p, "targetPool", Key);
        var source = StorageParameters.RequiredPath(p, "source", Key);
        var fullCopy = StorageParameters.Flag(p, "full_copy", Key) ?? false;
        var connection = libvirt.Connection;
        var place = new DiskPlace(context.Name, targetPool, targetPool, type);

        if (DiskImageSteps.ExistingVolumePath(connection, targetPool, context.Name, node) is { } existingPath)
        {
            var existing = await qemuImg.InfoAsync(existingPath, cancellationToken: ct).ConfigureAwait(false);
            var shapeMatches = fullCopy ? existing.BackingFilename is null : existing.FullBackingFilename == source || existing.BackingFilename == source;
            if (context.Attempt > 1 && existing.Format == DiskOperations.Format && shapeMatches)
            {
                return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, existing, place),
                    message: $"Disk {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"A volume named {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}); delete it (deleteDisk) or choose another name. Nothing was changed.");
        }

        if (!File.Exists(source))
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError, $"{Key}.source {source} does not exist on node {node}; nothing was created.");
        }

        var image = await qemuImg.InfoAsync(source, cancellationToken: ct).ConfigureAwait(false);
        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);
        var mode = fullCopy ? DiskImageSteps.PlaceMode.ConvertToQcow2 : DiskImageSteps.PlaceMode.Overlay;
        var path = await DiskImageSteps.PlaceAsync(connection, qemuImg, source, image.Format, targetPool, dir, context.Name, mode, node, ct).ConfigureAwait(false);
        var created = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        var how = fullCopy ? "as a full copy of" : "as a qcow2 overlay backed by";
        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, created, place),
            message: $"Disk {context.Name} was created in pool {targetPool} on node {node} at {path} {how} {source} ({image.Format}).");
    }
}
