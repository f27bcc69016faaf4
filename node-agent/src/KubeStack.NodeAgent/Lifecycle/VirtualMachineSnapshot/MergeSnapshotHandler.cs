using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// mergeSnapshot (the catalog's example: chain root → snapshot1 → snapshot2 → current; merging snapshot1 gives root →
/// current): for each disk of the external snapshot, the data of every file between its frozen file (root) and the
/// active layer is pulled into the active layer, which then backs directly onto the frozen file — <c>blockpull</c>
/// (<c>virDomainBlockRebase</c> with that base) on a running VM, a safe <c>qemu-img rebase</c> (data copied, never
/// <c>-u</c>) offline. The merged snapshots (this one and the later ones whose state lay in the merged files) are
/// removed from libvirt's metadata; merged files are deleted unless something still backs onto them or uses them.
/// Already merged (the snapshot is gone): success on a resumed attempt; a resumed attempt that finds the pull done
/// (the active layer backs directly onto the frozen file) finishes the metadata and file clean-up.
/// </summary>
public sealed class MergeSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineSnapshot;
    public string Key => "mergeSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Merging snapshot {context.Name}", Key, context.NodeName, () => MergeAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> MergeAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var connection = libvirt.Connection;
        using var domain = VmSnapshotSteps.RequireDomain(connection, context);
        using var snapshot = domain.TrySnapshotLookupByName(context.Name);
        if (snapshot is null)
        {
            if (context.Attempt > 1)
            {
                return HandlerResult.Succeeded(message: $"Snapshot {context.Name} of VM {domain.Name} is already merged on node {node}.");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError, $"VM {domain.Name} on node {node} has no snapshot {context.Name}; nothing was changed.");
        }

        var description = SnapshotXml.Read(snapshot.GetXmlDesc());
        if (!description.IsExternal)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"Snapshot {context.Name} of VM {domain.Name} is internal; mergeSnapshot merges the files of an external snapshot chain. Use deleteSnapshot. Nothing was changed.");
        }

        // Plan and check every disk first.
        var plan = new List<(ExternalSnapshotDisk Disk, IReadOnlyList<string> Merged)>();
        var leftovers = new List<string>();
        foreach (var disk in description.ExternalDisks)
        {
            var chain = await VmSnapshotSteps.ChainAsync(domain, qemuImg, disk.Target, ct).ConfigureAwait(false);
            var baseIndex = chain.ToList().IndexOf(disk.Frozen);
            if (context.Attempt > 1 && baseIndex == 1 && !chain.Contains(disk.Overlay))
            {
                // A crashed attempt pulled already: the active layer backs onto the frozen file; finish the clean-up.
                leftovers.Add(disk.Overlay);
                plan.Add((disk, []));
                continue;
            }

            if (baseIndex < 0 || !chain.Contains(disk.Overlay))
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Snapshot {context.Name} of VM {domain.Name} on node {node} is not in the current chain of disk {disk.Target} ({string.Join(" → ", chain)}); " +
                    "it belongs to a branch a revert left behind and cannot be merged into the active layer. Nothing was changed.");
            }

            plan.Add((disk, chain.Skip(1).Take(baseIndex - 1).ToList()));
        }

        var running = domain.IsActive();
        var xml = running ? null : domain.GetXmlDesc(DomainXmlFlags.Inactive);
        foreach (var (disk, merged) in plan.Where(p => p.Merged.Count > 0))
        {
            if (running)
            {
                domain.BlockPull(disk.Target, disk.Frozen);
                await VmSnapshotSteps.WaitBlockJobAsync(domain, disk.Target, pivot: false, node, ct).ConfigureAwait(false);
                var after = SnapshotXml.Chain(domain.GetXmlDesc(), disk.Target);
                if (after.Count < 2 || after[1] != disk.Frozen)
                {
                    throw new StorageRefusedException(ErrorClasses.VirtletError,
                        $"After the block pull, disk {disk.Target} of VM {domain.Name} on node {node} reads {string.Join(" → ", after)} instead of backing onto {disk.Frozen}; no file was removed.");
                }
            }
            else
            {
                var active = SnapshotXml.WritableDisks(xml!).First(d => d.Target == disk.Target).File!;
                var format = (await qemuImg.InfoAsync(disk.Frozen, cancellationToken: ct).ConfigureAwait(false)).Format;
                await qemuImg.RebaseAsync(active, disk.Frozen, format, format: "qcow2", cancellationToken: ct).ConfigureAwait(false);
            }
        }

        // The merged snapshots: this one and every other whose frozen state lay in a merged file.
        var mergedFiles = plan.SelectMany(p => p.Merged).Concat(leftovers).ToHashSet(StringComparer.Ordinal);
        var dropped = new List<string>();
        foreach (var other in domain.ListAllSnapshots())
        {
            using (other)
            {
                if (other.Name == snapshot.Name || SnapshotXml.Read(other.GetXmlDesc()).ExternalDisks.Any(d => mergedFiles.Contains(d.Frozen)))
                {
                    dropped.Add(other.Name);
                }
            }
        }

        foreach (var name in dropped)
        {
            using var s = domain.TrySnapshotLookupByName(name);
            s?.Delete(DomainSnapshotDeleteFlags.MetadataOnly);
        }

        var removed = new List<string>();
        var kept = new List<string>();
        foreach (var file in mergedFiles.Where(File.Exists))
        {
            var children = await VmSnapshotSteps.BackedByAsync(connection, qemuImg, file, VmSnapshotSteps.DirectoriesOf([file]), ct).ConfigureAwait(false);
            var users = Lifecycle.VirtualMachineDisk.DiskOperations.DomainsUsing(connection, file, string.Empty, string.Empty);
            if (children.Count == 0 && users.Count == 0 && VmSnapshotSteps.SnapshotsFreezing(domain, file, string.Empty).Count == 0)
            {
                File.Delete(file);
                removed.Add(file);
            }
            else
            {
                kept.Add($"{file} (still backs {string.Join(", ", children.Concat(users))})");
            }
        }

        var how = running ? "block pull on the running VM" : "safe qemu-img rebase offline";
        var disks = string.Join(", ", plan.Select(p => p.Merged.Count == 0
            ? $"{p.Disk.Target}: nothing above {p.Disk.Frozen} to merge"
            : $"{p.Disk.Target}: {string.Join(", ", p.Merged)} merged into the active layer, which now backs onto {p.Disk.Frozen}"));
        return HandlerResult.Succeeded(message: $"Snapshot {context.Name} of VM {domain.Name} was merged on node {node} ({how}): {disks}; " +
            $"snapshots {string.Join(", ", dropped)} were removed{(removed.Count == 0 ? string.Empty : "; deleted " + string.Join(", ", removed))}" +
            $"{(kept.Count == 0 ? string.Empty : "; kept " + string.Join(", ", kept))}.");
    }
}
