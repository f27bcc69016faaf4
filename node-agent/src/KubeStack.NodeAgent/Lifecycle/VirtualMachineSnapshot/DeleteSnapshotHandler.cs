using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// deleteSnapshot: the snapshot's state is forgotten and every chain keeps reading the same bytes. Internal: libvirt
/// deletes it from the qcow2 files. External, when the snapshot's overlay is in the VM's current chain and its frozen
/// file backs nothing else: libvirt's own deletion (libvirt ≥ 9.0) commits the overlay into the frozen file —
/// <c>blockcommit</c> on a running VM (pivoting when the overlay is the active layer), <c>qemu-img commit</c> offline —
/// rebases what was above it and removes the overlay. Otherwise (the overlay belongs to a branch a revert left behind,
/// or the frozen file backs other files) only the metadata goes; the overlay file is removed when nothing backs onto
/// it and no VM uses it, and files that still back others are kept (the message names them).
/// A snapshot already gone: error on a first attempt, success on a resumed one.
/// </summary>
public sealed class DeleteSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineSnapshot;
    public string Key => "deleteSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting snapshot {context.Name}", Key, context.NodeName, () => DeleteAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> DeleteAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        using var domain = VmSnapshotSteps.RequireDomain(libvirt.Connection, context);
        using var snapshot = domain.TrySnapshotLookupByName(context.Name);
        if (snapshot is null)
        {
            if (context.Attempt > 1)
            {
                return HandlerResult.Succeeded(message: $"Snapshot {context.Name} of VM {domain.Name} is already gone on node {node}.");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError, $"VM {domain.Name} on node {node} has no snapshot {context.Name}; nothing was changed.");
        }

        var message = await DeleteAsync(libvirt.Connection, qemuImg, domain, snapshot, ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(message: $"Snapshot {context.Name} of VM {domain.Name} was deleted on node {node}: {message}.");
    }

    /// <summary>Deletes <paramref name="snapshot"/> as described on the class; returns what happened (for the message).
    /// Shared with the finalizer cleanup.</summary>
    public static async Task<string> DeleteAsync(LibvirtConnection connection, QemuImg qemuImg, LibvirtDomain domain, LibvirtDomainSnapshot snapshot,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(snapshot);
        var description = SnapshotXml.Read(snapshot.GetXmlDesc());
        if (!description.IsExternal)
        {
            snapshot.Delete();
            return "removed from the qcow2 files";
        }

        var merge = true;
        foreach (var disk in description.ExternalDisks)
        {
            var chain = await VmSnapshotSteps.ChainAsync(domain, qemuImg, disk.Target, ct).ConfigureAwait(false);
            var children = await VmSnapshotSteps.BackedByAsync(connection, qemuImg, disk.Frozen, VmSnapshotSteps.DirectoriesOf([disk.Overlay, disk.Frozen], chain), ct)
                .ConfigureAwait(false);
            merge &= chain.Contains(disk.Overlay) && chain.Contains(disk.Frozen) && children.All(c => c == disk.Overlay)
                     && VmSnapshotSteps.SnapshotsFreezing(domain, disk.Frozen, snapshot.Name).Count == 0;
        }

        if (merge)
        {
            snapshot.Delete();
            var left = description.ExternalDisks.Where(d => File.Exists(d.Overlay)).Select(d => d.Overlay).ToList();
            return left.Count == 0
                ? $"libvirt merged {string.Join(", ", description.ExternalDisks.Select(d => $"{d.Overlay} into {d.Frozen}"))} and removed the overlays"
                : $"libvirt merged the overlays into their frozen files; {string.Join(", ", left)} stay";
        }

        snapshot.Delete(DomainSnapshotDeleteFlags.MetadataOnly);
        var removed = new List<string>();
        var kept = new List<string>();
        foreach (var disk in description.ExternalDisks)
        {
            if (!File.Exists(disk.Overlay))
            {
                continue;
            }

            var chain = await VmSnapshotSteps.ChainAsync(domain, qemuImg, disk.Target, ct).ConfigureAwait(false);
            var children = await VmSnapshotSteps.BackedByAsync(connection, qemuImg, disk.Overlay, VmSnapshotSteps.DirectoriesOf([disk.Overlay], chain), ct)
                .ConfigureAwait(false);
            var users = Lifecycle.VirtualMachineDisk.DiskOperations.DomainsUsing(connection, disk.Overlay, string.Empty, string.Empty);
            if (children.Count == 0 && users.Count == 0 && !chain.Contains(disk.Overlay) && VmSnapshotSteps.SnapshotsFreezing(domain, disk.Overlay, snapshot.Name).Count == 0)
            {
                File.Delete(disk.Overlay);
                removed.Add(disk.Overlay);
            }
            else
            {
                kept.Add($"{disk.Overlay} (still used by {string.Join(", ", children.Concat(users).DefaultIfEmpty("a snapshot or the VM's chain"))})");
            }
        }

        return $"its metadata was removed; {(removed.Count == 0 ? "no file was removed" : "removed " + string.Join(", ", removed))}" +
               $"{(kept.Count == 0 ? string.Empty : "; kept " + string.Join(", ", kept))}; frozen files stay as the base of the current chains";
    }
}
