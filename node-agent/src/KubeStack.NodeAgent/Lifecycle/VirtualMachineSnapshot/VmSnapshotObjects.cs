using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>The VM a VirtualMachineSnapshot object belongs to: its request's <c>domain</c>, else the name of the domain
/// embedded in <c>spec.domainsnapshot</c>. Null when neither says.</summary>
public static class VmSnapshotOwner
{
    public static string? DomainOf(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj.Spec.Lifecycle is { Count: 1 } lifecycle && lifecycle.First().Value is JsonObject request
            && request["domain"] is JsonValue value && value.TryGetValue<string>(out var fromRequest) && fromRequest.Length > 0)
        {
            return fromRequest;
        }

        return obj.Spec.DomainSnapshot?["domain"]?["name"]?["text"] is JsonValue name && name.TryGetValue<string>(out var fromView) ? fromView : null;
    }
}

/// <summary>
/// kubectl delete of a VirtualMachineSnapshot: the libvirt snapshot is deleted as deleteSnapshot does (external data
/// merged so every chain reads the same bytes). A VM or snapshot that is gone has nothing left to clean up.
/// </summary>
public sealed class VmSnapshotCleanup(LibvirtHost libvirt, QemuImg qemuImg) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachineSnapshot;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        var node = context.NodeName;
        return StorageFailures.GuardAsync($"Deleting snapshot {name}", "cleanup", node, async () =>
        {
            if (VmSnapshotOwner.DomainOf(context.Object) is not { } vm)
            {
                return HandlerResult.Succeeded(message: $"Snapshot {name} names no VM; nothing was created on node {node}.");
            }

            using var domain = libvirt.Connection.TryLookupDomainByName(vm);
            using var snapshot = domain?.TrySnapshotLookupByName(name);
            if (domain is null || snapshot is null)
            {
                return HandlerResult.Succeeded(message: $"Snapshot {name} of VM {vm} does not exist on node {node}; nothing left to clean up.");
            }

            var what = await DeleteSnapshotHandler.DeleteAsync(libvirt.Connection, qemuImg, domain, snapshot, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"Snapshot {name} of VM {vm} was deleted on node {node}: {what}.");
        });
    }
}

/// <summary>The observed snapshot (spec.domainsnapshot) for a restart or a resync; null when the VM or the snapshot does not exist.</summary>
public sealed class VmSnapshotStateReader(LibvirtHost libvirt) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachineSnapshot;

    public Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (VmSnapshotOwner.DomainOf(obj) is not { } vm)
        {
            return Task.FromResult<ObservedState?>(null);
        }

        using var domain = libvirt.Connection.TryLookupDomainByName(vm);
        using var snapshot = domain?.TrySnapshotLookupByName(obj.Metadata.Name);
        return Task.FromResult(snapshot is null ? null : new ObservedState(VmSnapshotSteps.View(snapshot)));
    }
}
