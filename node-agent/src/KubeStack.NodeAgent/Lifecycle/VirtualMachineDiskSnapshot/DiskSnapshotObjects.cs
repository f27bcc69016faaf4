using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>
/// Where a VirtualMachineDiskSnapshot lives, as the parameters its operations take (type, pool, vol): from its pending
/// request, else from spec.volume (pool, vol, disktype). Null when neither says.
/// </summary>
public static class DiskSnapshotPlace
{
    public static JsonObject? ParametersOf(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var pool = ObjectRequests.RequestField(obj, "pool") ?? ObjectRequests.ViewField(obj.Spec.Volume, "pool");
        var vol = ObjectRequests.RequestField(obj, "vol") ?? ObjectRequests.ViewField(obj.Spec.Volume, "vol");
        if (pool is null || vol is null)
        {
            return null;
        }

        var type = ObjectRequests.RequestField(obj, "type") ?? ObjectRequests.ViewField(obj.Spec.Volume, "disktype") ?? "localfs";
        return new JsonObject { ["type"] = type, ["pool"] = pool, ["vol"] = vol, ["format"] = "qcow2" };
    }
}

/// <summary>The observed external snapshot (spec.volume) for a restart or a resync; null when its file does not exist.</summary>
public sealed class DiskSnapshotStateReader(LibvirtHost libvirt, QemuImg qemuImg) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineDiskSnapshot;

    public async Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (DiskSnapshotPlace.ParametersOf(obj) is not { } parameters)
        {
            return null;
        }

        if (!ObjectRequests.IsActivePool(libvirt, (string)parameters["pool"]!))
        {
            return null;
        }

        var request = ObjectRequests.Context(obj, "deleteDiskExternalSnapshot", parameters, nodeName, NullLogger.Instance);
        var target = ExternalSnapshotSteps.Resolve(libvirt, request, "resync");
        return File.Exists(target.SnapshotPath)
            ? new ObservedState(await ExternalSnapshotSteps.ViewAsync(libvirt.Connection, qemuImg, target, obj.Metadata.Name, cancellationToken).ConfigureAwait(false))
            : null;
    }
}

/// <summary>
/// kubectl delete of a VirtualMachineDiskSnapshot: the same as deleteDiskExternalSnapshot (every file backed by the
/// snapshot is merged in safe mode, then the snapshot file goes; refused while a running VM uses the chain, and retried
/// with backoff). A snapshot whose pool or file is gone has nothing left to clean up.
/// </summary>
public sealed class DiskSnapshotCleanup(LibvirtHost libvirt, QemuImg qemuImg) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineDiskSnapshot;

    public async Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        if (DiskSnapshotPlace.ParametersOf(context.Object) is not { } parameters)
        {
            return HandlerResult.Succeeded(message: $"Disk snapshot {name} names no disk; nothing was created on node {context.NodeName}.");
        }

        if (!ObjectRequests.IsActivePool(libvirt, (string)parameters["pool"]!))
        {
            return HandlerResult.Succeeded(message: $"Storage pool {parameters["pool"]} of disk snapshot {name} is not active on node {context.NodeName}; nothing left to clean up.");
        }

        var request = ObjectRequests.Context(context.Object, "deleteDiskExternalSnapshot", parameters, context.NodeName, context.Logger);
        return await new DeleteDiskExternalSnapshotHandler(libvirt, qemuImg).HandleAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
