using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>
/// deleteDiskExternalSnapshot (see <see cref="ExternalSnapshotSteps"/>): every file backed directly by the
/// snapshot file is rebased in safe mode onto the snapshot's own backing file (or flattened when it has none), which
/// copies the snapshot's data into it, so every chain reads the same bytes as before; then the snapshot file is
/// deleted. Never <c>rebase -u</c>. A file backed by the snapshot that a running VM writes to (its active layer) is
/// merged live instead: <c>blockpull</c> onto the snapshot's backing file (<see cref="LiveDiskSnapshots"/>); an inner
/// layer of a running chain is refused. A snapshot already gone is success on a resumed attempt (error on a first one).
/// </summary>
public sealed class DeleteDiskExternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskSnapshot;
    public string Key => "deleteDiskExternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting external snapshot {context.Name}", Key, context.NodeName, () => DeleteAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> DeleteAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var connection = libvirt.Connection;
        var t = ExternalSnapshotSteps.Resolve(libvirt, context, Key);
        if (!File.Exists(t.SnapshotPath))
        {
            if (context.Attempt > 1)
            {
                return HandlerResult.Succeeded(message: $"External snapshot {context.Name} of disk {t.Vol} is already gone on node {node}.");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {t.Vol} in pool {t.Pool} on node {node} has no external snapshot {context.Name} ({t.SnapshotPath} does not exist); nothing was changed.");
        }

        var snapshot = await qemuImg.InfoAsync(t.SnapshotPath, cancellationToken: ct).ConfigureAwait(false);
        var children = await ExternalSnapshotSteps.ChildrenOfAsync(connection, qemuImg, t.SnapshotPath, ct).ConfigureAwait(false);
        var live = LiveDiskSnapshots.LiveChildren(connection, children, t, node);
        foreach (var (_, user) in live)
        {
            // A running VM's active layer: blockpull the snapshot's data into it.
            await LiveDiskSnapshots.PullAsync(connection, user, snapshot.FullBackingFilename, node, ct).ConfigureAwait(false);
        }

        foreach (var child in children.Where(c => live.All(l => l.Child != c)))
        {
            await qemuImg.RebaseAsync(child, snapshot.FullBackingFilename, snapshot.FullBackingFilename is null ? null : snapshot.BackingFilenameFormat ?? "qcow2",
                format: "qcow2", cancellationToken: ct).ConfigureAwait(false);
        }

        var left = await ExternalSnapshotSteps.ChildrenOfAsync(connection, qemuImg, t.SnapshotPath, ct).ConfigureAwait(false);
        if (left.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"External snapshot {context.Name} ({t.SnapshotPath}) on node {node} is still the backing file of {string.Join(", ", left)} after merging; it was kept.");
        }

        File.Delete(t.SnapshotPath);
        ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
        var merged = children.Count == 0 ? "no file was backed by it" : $"merged into {string.Join(", ", children)}";
        return HandlerResult.Succeeded(message: $"External snapshot {context.Name} of disk {t.Vol} was deleted on node {node} ({merged}).");
    }
}
