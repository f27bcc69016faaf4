using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

/// <summary>
/// createDiskImage: copies the file <c>source</c> (resolved inside the allowed roots) into pool <c>targetPool</c> as the
/// image named like the object. <c>imageType</c> qcow2: the source must be a qcow2 image (qemu-img info) and is
/// converted to a standalone qcow2 (its backing chain flattened); iso: the source must be an ISO 9660 file and is copied
/// byte for byte. Written under a temporary name and renamed. An image of that name already in the pool is success on
/// a resumed attempt when its format matches, otherwise an error.
/// </summary>
public sealed class CreateDiskImageHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskImage;
    public string Key => "createDiskImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating disk image {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var imageType = StorageParameters.Required(p, "imageType", Key);
        if (imageType is not ("qcow2" or "iso"))
        {
            throw new RequestParameterException("imageType", $"{Key}.imageType must be iso or qcow2, not '{imageType}'.");
        }

        var source = StorageParameters.RequiredPath(p, "source", Key);
        var targetPool = StorageParameters.Required(p, "targetPool", Key);
        var connection = libvirt.Connection;
        var place = new DiskPlace(context.Name, targetPool, targetPool, "localfs");
        var format = imageType == "iso" ? "raw" : "qcow2";

        if (DiskImageSteps.ExistingVolumePath(connection, targetPool, context.Name, node) is { } existingPath)
        {
            var existing = await qemuImg.InfoAsync(existingPath, cancellationToken: ct).ConfigureAwait(false);
            if (context.Attempt > 1 && existing.Format == format)
            {
                return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, existing, place),
                    message: $"Disk image {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"A volume named {context.Name} already exists in pool {targetPool} on node {node} ({existingPath}); choose another name. Nothing was changed.");
        }

        if (!File.Exists(source))
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key}.source {source} does not exist on node {node}; nothing was created.");
        }

        var mode = DiskImageSteps.PlaceMode.CopyBytes;
        if (imageType == "qcow2")
        {
            var info = await qemuImg.InfoAsync(source, cancellationToken: ct).ConfigureAwait(false);
            if (info.Format != "qcow2")
            {
                throw new StorageRefusedException(ErrorClasses.VirtctlError,
                    $"{Key}.source {source} on node {node} is a {info.Format} image, not qcow2 as imageType says; nothing was created.");
            }

            mode = DiskImageSteps.PlaceMode.ConvertToQcow2;
        }
        else if (!DiskImageSteps.IsIso9660(source))
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key}.source {source} on node {node} is not an ISO 9660 image, as imageType iso says; nothing was created.");
        }

        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);
        var path = await DiskImageSteps.PlaceAsync(connection, qemuImg, source, "qcow2", targetPool, dir, context.Name, mode, node, ct).ConfigureAwait(false);
        var created = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, created, place),
            message: $"Disk image {context.Name} ({imageType}) was created in pool {targetPool} on node {node} at {path} from {source}.");
    }
}
