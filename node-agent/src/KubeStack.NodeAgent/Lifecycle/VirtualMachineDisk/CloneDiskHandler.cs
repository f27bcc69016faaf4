using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// cloneDisk: a full, independent qcow2 copy (qemu-img convert, the whole backing chain flattened) of this disk named
/// <c>newname</c> in the target pool <c>pool</c>. The source disk's pool is the one its view (spec.volume.pool) names,
/// else the target pool. The copy is written to a hidden temporary file <c>.&lt;newname&gt;.part</c> in the target pool's
/// directory and renamed into place only when complete, so an interrupted clone never leaves a file that looks like a
/// disk; a stale temporary file from an interrupted attempt is removed first. A volume named <c>newname</c> that already
/// exists is success on a resumed attempt when it has the source's size and format, otherwise an error. Offline only: a
/// source disk a running VM uses is refused (VirtctlError naming the VM). The result view is the source disk's. With
/// <see cref="ResultObjects"/> (the agent has them) the clone gets a VirtualMachineDisk object <c>newname</c> of its own
/// in the request's namespace once it is complete (spec.volume = the clone's view, label host, the host-cleanup
/// finalizer, no request; docs/decisions.md <c>result-objects</c>); a name another object holds is refused before copying.
/// </summary>
public sealed class CloneDiskHandler(LibvirtHost libvirt, QemuImg qemuImg, ResultObjects? results = null) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "cloneDisk";

    /// <summary>The temporary name a clone is written under before it is renamed to <paramref name="newName"/>.</summary>
    public static string TemporaryName(string newName) => $".{newName}.part";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Cloning disk {context.Name}", Key, context.NodeName, () => CloneAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CloneAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var type = StorageParameters.Required(p, "type", Key);
        PoolOperations.RefuseVendorType(type, node);
        var targetPoolName = StorageParameters.Required(p, "pool", Key);
        var newName = DiskVolumeSteps.RequireName(p, "newname", Key);
        var format = StorageParameters.Required(p, "format", Key);
        if (format != DiskOperations.Format)
        {
            throw new RequestParameterException("format", $"{Key}.format must be qcow2, not '{format}'.");
        }

        if (newName == context.Name)
        {
            throw new RequestParameterException("newname", $"{Key}.newname must differ from the disk's own name {context.Name}.");
        }

        if (results is not null && await results.ConflictAsync(context, Kinds.VirtualMachineDisk, newName, ct).ConfigureAwait(false) is { } taken)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError, $"{Key} of disk {context.Name} refused on node {node}: {taken}");
        }

        var sourcePoolName = context.Object.Spec.Volume?["pool"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : targetPoolName;
        var connection = libvirt.Connection;
        var source = await DiskVolumeSteps.RequireAsync(libvirt, qemuImg, context, sourcePoolName, type, ct).ConfigureAwait(false);

        string targetDir;
        using (var targetPool = DiskOperations.RequireActivePool(connection, targetPoolName, node))
        {
            targetDir = PoolSnapshot.Read(targetPool, refresh: false).TargetPath ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"Storage pool {targetPoolName} on node {node} has no target directory; disks can only be cloned into directory-backed pools.");
            using var existing = targetPool.TryLookupStorageVolByName(newName);
            if (existing is not null)
            {
                var info = await qemuImg.InfoAsync(existing.GetPath(), cancellationToken: ct).ConfigureAwait(false);
                if (context.Attempt > 1 && info.Format == format && info.VirtualSize == source.Info.VirtualSize && info.BackingFilename is null)
                {
                    return await FinishAsync(context, source, info, new DiskPlace(newName, targetPoolName, targetPoolName, type),
                        $"Disk {context.Name} was already cloned to {newName} in pool {targetPoolName} on node {node} ({info.Filename}).", ct).ConfigureAwait(false);
                }

                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"A volume named {newName} already exists in pool {targetPoolName} on node {node} ({info.Filename}); " +
                    "choose another newname or delete that volume. Nothing was changed.");
            }
        }

        DiskVolumeSteps.RefuseWhileRunning(connection, source, Key, node, "clones a disk");
        var finalPath = DiskOperations.PathIn(targetDir, newName, targetPoolName, node);
        var partPath = DiskOperations.PathIn(targetDir, TemporaryName(newName), targetPoolName, node);
        File.Delete(partPath);
        try
        {
            await qemuImg.ConvertAsync(source.Path, partPath, format, sourceFormat: source.Info.Format, cancellationToken: ct).ConfigureAwait(false);
            File.Move(partPath, finalPath, overwrite: false);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }

        using (DiskOperations.RequireActivePool(connection, targetPoolName, node))
        {
            // Refreshed: libvirt now lists the clone.
        }

        var cloneInfo = await qemuImg.InfoAsync(finalPath, cancellationToken: ct).ConfigureAwait(false);
        return await FinishAsync(context, source, cloneInfo, new DiskPlace(newName, targetPoolName, targetPoolName, type),
            $"Disk {context.Name} was cloned to {newName} in pool {targetPoolName} on node {node} ({finalPath}, {source.Info.VirtualSize} bytes).", ct).ConfigureAwait(false);
    }

    /// <summary>Success with the source's view, after the clone's own VirtualMachineDisk object exists (when the agent makes result objects).</summary>
    private async Task<HandlerResult> FinishAsync(RequestContext context, DiskVolumeSteps.ExistingDisk source, QemuImgInfo clone, DiskPlace clonePlace,
        string message, CancellationToken ct)
    {
        var connection = libvirt.Connection;
        if (results is not null)
        {
            var cloneView = DiskVolumeSteps.View(connection, clone, clonePlace);
            try
            {
                message += await results.EnsureAsync(context, Kinds.VirtualMachineDisk, clonePlace.Name, spec => spec.Volume = cloneView, ct).ConfigureAwait(false);
            }
            catch (KubeStack.Runtime.Api.KubeApiException ex)
            {
                return HandlerResult.Failed(ErrorClasses.Exception,
                    $"{message} Its VirtualMachineDisk object {context.Namespace}/{clonePlace.Name} could not be created ({ex.Message}); the request is retried.", retryable: true);
            }
        }

        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, source.Info, source.Place), message: message);
    }
}
