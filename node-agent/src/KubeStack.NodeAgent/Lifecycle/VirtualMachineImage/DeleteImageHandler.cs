using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

/// <summary>
/// deleteImage: deletes the VM image named like the object (its disks, then its template) from the pool that holds it.
/// Refused (LibvirtError) while a volume of any active pool backs onto one of its disks or a defined VM uses one,
/// naming them: deleting it would corrupt those disks. An image already gone is success (a resumed request converges,
/// and an image turned into a VM by convertImageToVM has nothing left to delete).
/// </summary>
public sealed class DeleteImageHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineImage;
    public string Key => "deleteImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting VM image {context.Name}", Key, context.NodeName,
            async () => HandlerResult.Succeeded(message: await DeleteAsync(libvirt, qemuImg, context.Object, context.NodeName, cancellationToken).ConfigureAwait(false)));
    }

    /// <summary>Deletes the image of <paramref name="obj"/> unless something uses it; returns what happened (shared with the finalizer cleanup).</summary>
    public static async Task<string> DeleteAsync(LibvirtHost libvirt, QemuImg qemuImg, KubeStackResource obj, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(obj);
        var name = obj.Metadata.Name;
        var connection = libvirt.Connection;
        if (VmImageStore.Find(connection, name, VmImageViews.PoolOf(obj), node) is not { } image)
        {
            return $"VM image {name} is not in any active pool on node {node}; nothing was left to delete.";
        }

        var users = await VmImageStore.UsersAsync(connection, qemuImg, image, ct).ConfigureAwait(false);
        if (users.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"VM image {name} (pool {image.Pool}) on node {node} is still used by {string.Join(", ", users)}; " +
                "delete or flatten those first. The image was kept.");
        }

        VmImageStore.Delete(connection, image);
        return $"VM image {name} was deleted from pool {image.Pool} on node {node} ({image.Disks.Count} disk file(s) and its template).";
    }
}
