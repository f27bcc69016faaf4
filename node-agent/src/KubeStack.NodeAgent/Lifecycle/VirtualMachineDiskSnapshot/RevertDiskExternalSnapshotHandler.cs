using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>
/// revertDiskExternalSnapshot (offline, see <see cref="ExternalSnapshotSteps"/>): the disk's path gets a new empty
/// overlay backed by the snapshot file (written under a temporary name, then renamed over the old active layer), so
/// the disk reads exactly what it held when the snapshot was taken. Other snapshots stay valid. A resumed attempt that
/// finds the disk already on a fresh overlay of the snapshot is success.
/// </summary>
public sealed class RevertDiskExternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskSnapshot;
    public string Key => "revertDiskExternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Reverting to external snapshot {context.Name}", Key, context.NodeName, () => RevertAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> RevertAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var connection = libvirt.Connection;
        var t = ExternalSnapshotSteps.Resolve(libvirt, context, Key);
        if (!File.Exists(t.SnapshotPath))
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {t.Vol} in pool {t.Pool} on node {node} has no external snapshot {context.Name} ({t.SnapshotPath} does not exist); nothing was changed.");
        }

        var current = File.Exists(t.DiskPath) ? await qemuImg.InfoAsync(t.DiskPath, cancellationToken: ct).ConfigureAwait(false) : null;
        if (context.Attempt > 1 && current?.FullBackingFilename == t.SnapshotPath)
        {
            return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
                message: $"Disk {t.Vol} on node {node} is already reverted to external snapshot {context.Name}.");
        }

        ExternalSnapshotSteps.RefuseLive(connection, t, Key, node);
        var holders = await ExternalSnapshotSteps.ChildrenOfAsync(connection, qemuImg, t.DiskPath, ct).ConfigureAwait(false);
        if (holders.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {t.Vol} ({t.DiskPath}) on node {node} is the backing file of {string.Join(", ", holders)}; reverting would destroy their base. Nothing was changed.");
        }

        var part = Path.Combine(Path.GetDirectoryName(t.DiskPath)!, CloneDiskHandler.TemporaryName(t.Vol));
        File.Delete(part);
        try
        {
            await qemuImg.CreateAsync(part, DiskOperations.Format, null, t.SnapshotPath, DiskOperations.Format, cancellationToken: ct).ConfigureAwait(false);
            File.Move(part, t.DiskPath, overwrite: true);
        }
        catch
        {
            File.Delete(part);
            throw;
        }

        ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
        return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
            message: $"Disk {t.Vol} was reverted to external snapshot {context.Name} on node {node}: {t.DiskPath} is a new overlay on {t.SnapshotPath}.");
    }
}
