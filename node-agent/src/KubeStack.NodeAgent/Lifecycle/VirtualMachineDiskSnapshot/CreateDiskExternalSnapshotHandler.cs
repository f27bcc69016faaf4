using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>
/// createDiskExternalSnapshot (see <see cref="ExternalSnapshotSteps"/>): the disk's active layer becomes the
/// frozen file <c>&lt;vol&gt;.&lt;snapshot&gt;</c> and a new empty overlay backed by it takes the disk's path. Probes first: a
/// snapshot file whose disk overlay already backs onto it is success on a resumed attempt (error on a first one); a
/// crash between the rename and the overlay is finished on the retry (the overlay is created through a temporary name).
/// Refused when another file backs onto the disk's active layer (it would be frozen under it). A disk a running VM
/// writes to is snapshotted live through libvirt with the same layout (<see cref="LiveDiskSnapshots"/>).
/// </summary>
public sealed class CreateDiskExternalSnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDiskSnapshot;
    public string Key => "createDiskExternalSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating external snapshot {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var connection = libvirt.Connection;
        var t = ExternalSnapshotSteps.Resolve(libvirt, context, Key);
        if (context.Attempt > 1 && await LiveDiskSnapshots.ResumeAsync(connection, qemuImg, t, context.Name, node, ct).ConfigureAwait(false))
        {
            ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
            return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
                message: $"The interrupted live snapshot {context.Name} of disk {t.Vol} was finished on node {node}: the VM writes to {t.DiskPath}, a new overlay on {t.SnapshotPath}.");
        }

        var diskExists = File.Exists(t.DiskPath);
        if (File.Exists(t.SnapshotPath))
        {
            var current = diskExists ? await qemuImg.InfoAsync(t.DiskPath, cancellationToken: ct).ConfigureAwait(false) : null;
            var done = current is not null && current.FullBackingFilename == t.SnapshotPath;
            if (!diskExists && context.Attempt > 1)
            {
                // Crashed between the rename and the overlay: finish.
                await CreateOverlayAsync(t, ct).ConfigureAwait(false);
                done = true;
            }
            else if (!done || context.Attempt == 1)
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"Disk {t.Vol} in pool {t.Pool} on node {node} already has a snapshot file {t.SnapshotPath}; choose another snapshot name. Nothing was changed.");
            }

            ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
            return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
                message: $"External snapshot {context.Name} of disk {t.Vol} exists on node {node} ({t.SnapshotPath}).");
        }

        if (!diskExists)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError, $"Disk {t.Vol} is not in storage pool {t.Pool} on node {node} ({t.DiskPath}); nothing was changed.");
        }

        var info = await qemuImg.InfoAsync(t.DiskPath, cancellationToken: ct).ConfigureAwait(false);
        if (info.Format != DiskOperations.Format)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key} needs a qcow2 disk, but disk {t.Vol} ({t.DiskPath}) on node {node} is {info.Format}; nothing was changed.");
        }

        var live = LiveDiskSnapshots.Find(connection, t, context);
        var holders = await ExternalSnapshotSteps.ChildrenOfAsync(connection, qemuImg, t.DiskPath, ct).ConfigureAwait(false);
        if (holders.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Disk {t.Vol} ({t.DiskPath}) on node {node} is the backing file of {string.Join(", ", holders)}; it cannot take an external snapshot. Nothing was changed.");
        }

        if (live is not null)
        {
            await LiveDiskSnapshots.CreateAsync(connection, qemuImg, t, live, context.Name, node, ct).ConfigureAwait(false);
            ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
            return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
                message: $"External snapshot {context.Name} of disk {t.Vol} was taken live on node {node} through libvirt (VM {live.Domain}, {live.Target}): " +
                         $"{t.SnapshotPath} is frozen and the VM now writes to {t.DiskPath}, a new overlay on it.");
        }

        File.Move(t.DiskPath, t.SnapshotPath, overwrite: false);
        try
        {
            await CreateOverlayAsync(t, ct).ConfigureAwait(false);
        }
        catch (HostToolException)
        {
            File.Move(t.SnapshotPath, t.DiskPath, overwrite: false); // undo: the disk is as it was
            throw;
        }

        ExternalSnapshotSteps.Refresh(connection, t.Pool, node);
        return HandlerResult.Succeeded(await ExternalSnapshotSteps.ViewAsync(connection, qemuImg, t, context.Name, ct).ConfigureAwait(false),
            message: $"External snapshot {context.Name} of disk {t.Vol} was created on node {node}: {t.SnapshotPath} is frozen and {t.DiskPath} is a new overlay on it.");
    }

    private async Task CreateOverlayAsync(ExternalSnapshotSteps.Target t, CancellationToken ct)
    {
        var part = Path.Combine(Path.GetDirectoryName(t.DiskPath)!, CloneDiskHandler.TemporaryName(t.Vol));
        File.Delete(part);
        await qemuImg.CreateAsync(part, DiskOperations.Format, null, t.SnapshotPath, DiskOperations.Format, cancellationToken: ct).ConfigureAwait(false);
        File.Move(part, t.DiskPath, overwrite: false);
    }
}
