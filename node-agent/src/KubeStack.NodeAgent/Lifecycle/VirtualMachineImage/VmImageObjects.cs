using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

/// <summary>Where a VirtualMachineImage object says its image is.</summary>
public static class VmImageViews
{
    /// <summary>The pool the object's pending request names (targetPool), or null (the image is then searched in every active pool).</summary>
    public static string? PoolOf(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var request = obj.Spec.Lifecycle is { Count: 1 } l ? l.First().Value as JsonObject : null;
        return request?["targetPool"] is JsonValue v && v.TryGetValue<string>(out var pool) && pool.Length > 0 ? pool : null;
    }
}

/// <summary>The observed VM image (spec.domain: its template, without passwords) for a restart or a resync; null when no pool has it.</summary>
public sealed class VmImageStateReader(LibvirtHost libvirt) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineImage;

    public Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var image = VmImageStore.Find(libvirt.Connection, obj.Metadata.Name, VmImageViews.PoolOf(obj), nodeName);
        return Task.FromResult(image is null ? null : new ObservedState(VmImageStore.View(image.Template)));
    }
}

/// <summary>
/// kubectl delete of a VirtualMachineImage: the same as deleteImage. While something backs onto the image the cleanup
/// fails (LibvirtError naming the users), so the finalizer stays, a Warning Event says what holds it, and the runtime
/// retries with backoff. An image that is gone (deleted, or turned into a VM) has nothing left to clean up.
/// </summary>
public sealed class VmImageCleanup(LibvirtHost libvirt, QemuImg qemuImg) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineImage;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting VM image {context.Object.Metadata.Name}", "cleanup", context.NodeName, async () =>
            HandlerResult.Succeeded(message: await DeleteImageHandler.DeleteAsync(libvirt, qemuImg, context.Object, context.NodeName, cancellationToken)
                .ConfigureAwait(false)));
    }
}
