using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>A running VM whose disk <see cref="Target"/> has the disk's file as its active layer.</summary>
public sealed record LiveDiskUser(string Domain, string Target);

/// <summary>
/// External disk snapshots of a disk a running VM writes to, through libvirt (docs/storage.md). The layout stays the
/// offline one — the disk's own path is its active layer, the frozen state is <c>&lt;vol&gt;.&lt;snapshot&gt;</c> — so a
/// live create is: (1) a disk-only, atomic libvirt snapshot (no metadata; quiesced when a guest agent is connected)
/// onto a temporary overlay, which freezes the disk's file; (2) the frozen file is renamed to
/// <c>&lt;vol&gt;.&lt;snapshot&gt;</c> (QEMU keeps its open file) and a new empty overlay backed by it is made at the disk's
/// path; (3) a shallow block copy of the temporary overlay onto that file, with the backing chain given by name, and a
/// pivot: the VM then runs on <c>&lt;vol&gt;</c> → <c>&lt;vol&gt;.&lt;snapshot&gt;</c> → … and libvirt's live XML says so;
/// (4) the temporary overlay is removed. A failure after (1) is rolled back (the names restored, the temporary overlay
/// committed back with an active block commit); a resumed attempt after a crash finishes the steps left
/// (<see cref="ResumeAsync"/>). A live delete pulls the snapshot's data into the running VM's active
/// layer (<c>blockpull</c> onto the snapshot's own backing file).
/// </summary>
public static class LiveDiskSnapshots
{
    /// <summary>
    /// The running VM using the disk, or null when none does. A running VM that holds the disk's file only inside its
    /// chain, or a request whose <c>domain</c> does not name the running VM (the catalog's "Write lock" rule), is refused.
    /// </summary>
    public static LiveDiskUser? Find(LibvirtConnection connection, ExternalSnapshotSteps.Target target, RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(context);
        var node = context.NodeName;
        var users = DiskVolumeSteps.RunningUsers(connection, target.DiskPath, target.Pool, target.Vol);
        if (users.Count == 0)
        {
            return null;
        }

        if (users.Count > 1)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {target.Vol} on node {node} is used by the running VMs {string.Join(", ", users)}; a live snapshot needs exactly one. Nothing was changed.");
        }

        var name = users[0];
        var given = StorageParameters.Optional(context.Parameters, "domain");
        if (given != name)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Write lock: disk {target.Vol} ({target.DiskPath}) on node {node} is in use by the running VM {name}; give {context.Key}.domain: {name} " +
                "to snapshot it live. Nothing was changed.");
        }

        using var domain = connection.LookupDomainByName(name);
        var disk = SnapshotXml.WritableDisks(domain.GetXmlDesc()).FirstOrDefault(d => d.File == target.DiskPath);
        if (disk.Target is null)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {target.Vol} ({target.DiskPath}) on node {node} is a backing file inside a disk chain of the running VM {name}, not its active layer; " +
                "it cannot be snapshotted while the VM runs. Nothing was changed.");
        }

        return new LiveDiskUser(name, disk.Target);
    }

    /// <summary>Takes the live snapshot as described on the class; the VM then runs on the disk's path backed by the snapshot file.</summary>
    public static async Task CreateAsync(LibvirtConnection connection, QemuImg qemuImg, ExternalSnapshotSteps.Target target, LiveDiskUser user,
        string snapshot, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(user);
        using var domain = connection.LookupDomainByName(user.Domain);
        var temporary = TemporaryOverlay(target, snapshot);
        File.Delete(temporary);
        var size = (await qemuImg.InfoAsync(target.DiskPath, cancellationToken: ct).ConfigureAwait(false)).VirtualSize;
        var xml = domain.GetXmlDesc();
        var others = SnapshotXml.WritableDisks(xml).Select(d => d.Target).Where(t => t != user.Target);
        var flags = DomainSnapshotCreateFlags.DiskOnly | DomainSnapshotCreateFlags.Atomic | DomainSnapshotCreateFlags.NoMetadata;
        if (SnapshotXml.HasConnectedGuestAgent(xml))
        {
            flags |= DomainSnapshotCreateFlags.Quiesce;
        }

        var request = SnapshotXml.BuildCreate($"{target.Vol}.{snapshot}", SnapshotMode.External,
            [new DiskSnapshotSpec(user.Target, "external", temporary, "qcow2")], others);
        domain.SnapshotCreateXml(request, flags).Dispose();

        // From here the VM writes to the temporary overlay and the disk's file is frozen.
        await MoveOntoDiskPathAsync(qemuImg, domain, user.Target, target, temporary, size, snapshot, node, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A resumed attempt after a crash during a live create: when a running VM writes to this snapshot's temporary
    /// overlay, the remaining steps (rename, overlay at the disk's path, block copy and pivot) are finished. Returns
    /// false when no running VM is on the temporary overlay (nothing to resume).
    /// </summary>
    public static async Task<bool> ResumeAsync(LibvirtConnection connection, QemuImg qemuImg, ExternalSnapshotSteps.Target target, string snapshot,
        string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(target);
        var temporary = TemporaryOverlay(target, snapshot);
        foreach (var domain in connection.ListAllDomains(ListAllDomainsFlags.Active))
        {
            using (domain)
            {
                var disk = SnapshotXml.WritableDisks(domain.GetXmlDesc()).FirstOrDefault(d => d.File == temporary);
                if (disk.Target is null)
                {
                    continue;
                }

                var frozen = File.Exists(target.SnapshotPath) ? target.SnapshotPath : target.DiskPath;
                var size = (await qemuImg.InfoAsync(frozen, cancellationToken: ct).ConfigureAwait(false)).VirtualSize;
                await MoveOntoDiskPathAsync(qemuImg, domain, disk.Target, target, temporary, size, snapshot, node, ct).ConfigureAwait(false);
                return true;
            }
        }

        return false;
    }

    private static string TemporaryOverlay(ExternalSnapshotSteps.Target target, string snapshot) =>
        Path.Combine(Path.GetDirectoryName(target.DiskPath)!, CloneDiskHandler.TemporaryName($"{target.Vol}.{snapshot}"));

    /// <summary>Steps (2)–(4): the VM writes to <paramref name="temporary"/> backed by the frozen disk file; afterwards it
    /// writes to the disk's path backed by the snapshot file. Each step is skipped when a crashed attempt did it already.</summary>
    private static async Task MoveOntoDiskPathAsync(QemuImg qemuImg, LibvirtDomain domain, string disk, ExternalSnapshotSteps.Target target,
        string temporary, long size, string snapshot, string node, CancellationToken ct)
    {
        var renamed = false;
        var overlay = false;
        try
        {
            // Either step may have been done by a crashed attempt of this same operation: both count as ours for a rollback.
            if (!File.Exists(target.SnapshotPath))
            {
                File.Move(target.DiskPath, target.SnapshotPath, overwrite: false);
            }

            renamed = true;
            if (!File.Exists(target.DiskPath))
            {
                await qemuImg.CreateAsync(target.DiskPath, DiskOperations.Format, size, target.SnapshotPath, DiskOperations.Format, cancellationToken: ct).ConfigureAwait(false);
            }

            overlay = true;

            var chain = await qemuImg.InfoBackingChainAsync(target.SnapshotPath, cancellationToken: ct).ConfigureAwait(false);
            var destination = SnapshotXml.BuildCopyDestination(target.DiskPath, [.. chain.Select(i => (i.Filename, i.Format))]);
            domain.BlockCopy(disk, destination, DomainBlockCopyFlags.Shallow | DomainBlockCopyFlags.ReuseExt | DomainBlockCopyFlags.TransientJob);
            await VmSnapshotSteps.WaitBlockJobAsync(domain, disk, pivot: true, node, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LibvirtException or HostToolException or IOException or StorageRefusedException)
        {
            var rollback = await RollBackAsync(domain, disk, target, temporary, renamed, overlay, node, ct).ConfigureAwait(false);
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"The live snapshot {snapshot} of disk {target.Vol} (VM {domain.Name}, {disk}) on node {node} failed after the disk was frozen: {ex.Message} {rollback}");
        }

        File.Delete(temporary);
        var live = SnapshotXml.Chain(domain.GetXmlDesc(), disk);
        if (live.Count < 2 || live[0] != target.DiskPath || live[1] != target.SnapshotPath)
        {
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"After the live snapshot {snapshot}, disk {disk} of VM {domain.Name} on node {node} reads {string.Join(" → ", live)} " +
                $"instead of {target.DiskPath} → {target.SnapshotPath}.");
        }
    }

    private static async Task<string> RollBackAsync(LibvirtDomain domain, string disk, ExternalSnapshotSteps.Target target, string temporary,
        bool renamed, bool overlay, string node, CancellationToken ct)
    {
        try
        {
            if (domain.GetBlockJobInfo(disk) is not null)
            {
                domain.BlockJobAbort(disk, DomainBlockJobAbortFlags.None);
            }

            if (overlay)
            {
                File.Delete(target.DiskPath);
            }

            if (renamed)
            {
                File.Move(target.SnapshotPath, target.DiskPath, overwrite: false);
            }

            // Fold the temporary overlay back into the disk's file and pivot the VM onto it.
            domain.BlockCommit(disk, null, null, DomainBlockCommitFlags.Active | DomainBlockCommitFlags.Shallow);
            await VmSnapshotSteps.WaitBlockJobAsync(domain, disk, pivot: true, node, ct).ConfigureAwait(false);
            File.Delete(temporary);
            return "It was rolled back: the VM runs on the disk's file again and no snapshot file was left.";
        }
        catch (Exception ex) when (ex is LibvirtException or IOException or StorageRefusedException)
        {
            return $"Rolling back failed too ({ex.Message}): the VM may still write to {temporary}; check the disk chain of the VM before retrying.";
        }
    }

    /// <summary>
    /// The files backed by the snapshot file that a running VM has open: the active layers to pull into (domain, disk),
    /// after refusing when one of them is only an inner layer of a running chain (it cannot be rewritten live).
    /// </summary>
    public static IReadOnlyList<(string Child, LiveDiskUser User)> LiveChildren(LibvirtConnection connection, IReadOnlyList<string> children,
        ExternalSnapshotSteps.Target target, string node)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(children);
        ArgumentNullException.ThrowIfNull(target);
        var live = new List<(string, LiveDiskUser)>();
        foreach (var domain in connection.ListAllDomains(ListAllDomainsFlags.Active))
        {
            using (domain)
            {
                var xml = domain.GetXmlDesc();
                foreach (var (diskTarget, _) in SnapshotXml.WritableDisks(xml))
                {
                    var chain = SnapshotXml.Chain(xml, diskTarget);
                    if (chain.Count > 0 && chain[0] == target.SnapshotPath)
                    {
                        throw new StorageRefusedException(ErrorClasses.LibvirtError,
                            $"The running VM {domain.Name} writes directly to the snapshot file {target.SnapshotPath} on node {node}; it cannot be deleted. Nothing was changed.");
                    }

                    foreach (var child in children.Where(chain.Contains))
                    {
                        if (chain[0] != child)
                        {
                            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                                $"The snapshot file {target.SnapshotPath} on node {node} backs {child}, an inner layer of disk {diskTarget} of the running VM {domain.Name}; " +
                                "it can only be merged while the VM is stopped (or delete the later snapshot first). Nothing was changed.");
                        }

                        live.Add((child, new LiveDiskUser(domain.Name, diskTarget)));
                    }
                }
            }
        }

        return live;
    }

    /// <summary>Pulls the snapshot file's data into a running VM's active layer, which then backs onto <paramref name="newBase"/> (null: flattened).</summary>
    public static async Task PullAsync(LibvirtConnection connection, LiveDiskUser user, string? newBase, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(user);
        using var domain = connection.LookupDomainByName(user.Domain);
        domain.BlockPull(user.Target, newBase);
        await VmSnapshotSteps.WaitBlockJobAsync(domain, user.Target, pivot: false, node, ct).ConfigureAwait(false);
    }
}
