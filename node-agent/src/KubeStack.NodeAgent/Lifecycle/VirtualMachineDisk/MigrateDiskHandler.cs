using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// migrateDisk: cold migration of the disk's volume into storage pool <c>pool</c> (docs/migration.md). The pool is
/// either on this node (a move between pools) or the VirtualMachinePool object of that name lives on another node (the
/// disk moves there: its agent's Lease gives the libvirt URI). The volume's file is copied through libvirt's upload
/// stream, read back on the target for a SHA-256 check, and only then is the source volume removed. A disk that a VM
/// (running or defined) uses is refused: the VM would point at a file that is gone; migrate the VM with migrateVMDisk.
/// </summary>
public sealed class MigrateDiskHandler(LibvirtHost libvirt, QemuImg qemuImg, IMigrationTargets targets, IObjectApi objects) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "migrateDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Migrating disk {context.Name}", Key, context.NodeName, () => MigrateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> MigrateAsync(RequestContext ctx, CancellationToken ct)
    {
        var node = ctx.NodeName;
        var targetPoolName = StorageParameters.Required(ctx.Parameters, "pool", Key);
        var view = ctx.Object.Spec.Volume;
        var sourcePoolName = view?["pool"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
        if (sourcePoolName is null)
        {
            return HandlerResult.Failed(ErrorClasses.VirtletError,
                $"Disk {ctx.Name} has no spec.volume.pool, so node {node} cannot tell which pool it is in; read it again (resync) or recreate it.");
        }

        var local = libvirt.Connection;
        using var localTargetPool = local.TryLookupStoragePoolByName(targetPoolName);
        MigrationTarget? target = null;
        if (localTargetPool is null)
        {
            target = await RemotePoolNodeAsync(ctx, targetPoolName, ct).ConfigureAwait(false);
        }
        else if (targetPoolName == sourcePoolName)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{Key}.pool: disk {ctx.Name} is already in storage pool {targetPoolName} on node {node}; name another pool. Nothing was changed.");
        }

        using var remote = target is null ? null : await MigrationSteps.OpenTargetAsync(target, Key, node).ConfigureAwait(false);
        using var targetPool = localTargetPool is not null ? null : remote!.TryLookupStoragePoolByName(targetPoolName);
        var destinationPool = localTargetPool ?? targetPool ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"{Key}.pool: storage pool {targetPoolName} is not defined on node {target!.NodeName}, where its VirtualMachinePool object says it is.");
        var targetNode = target?.NodeName ?? node;
        if (!destinationPool.IsActive())
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key}.pool: storage pool {targetPoolName} on node {targetNode} is not active; start it (startPool) first. Nothing was changed.");
        }

        using var sourcePool = local.TryLookupStoragePoolByName(sourcePoolName);
        sourcePool?.Refresh();
        using var sourceVolume = sourcePool?.TryLookupStorageVolByName(ctx.Name);
        if (sourceVolume is null)
        {
            destinationPool.Refresh();
            using var there = destinationPool.TryLookupStorageVolByName(ctx.Name);
            if (there is not null && ctx.Attempt > 1)
            {
                return Done(ctx, there, destinationPool, targetNode, target, null,
                    $"Disk {ctx.Name} is in storage pool {targetPoolName} on node {targetNode} (moved by an earlier attempt of this request).");
            }

            return HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"Disk {ctx.Name} is not in storage pool {sourcePoolName} on node {node} (spec.volume.pool); nothing to migrate.");
        }

        var sourcePath = sourceVolume.GetPath();
        var info = await qemuImg.InfoAsync(sourcePath, cancellationToken: ct).ConfigureAwait(false);
        if (info.BackingFilename is { Length: > 0 } backing)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"Disk {ctx.Name} on node {node} is an overlay of {backing}; {Key} copies single-file disks only. Merge its snapshots first. Nothing was changed.");
        }

        var users = DiskOperations.DomainsUsing(local, sourcePath, sourcePoolName, ctx.Name);
        if (users.Count > 0)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{Key} of disk {ctx.Name} is refused on node {node}: VM {string.Join(", ", users)} uses it and would be left pointing at a removed file. " +
                "Detach it first, or migrate the VM with its disks (migrateVMDisk). Nothing was changed.");
        }

        var copy = await Task.Run(() => MigrationVolumes.CopyAndVerify(sourcePath, destinationPool, ctx.Name, targetNode, Key, ct), ct)
            .ConfigureAwait(false);
        sourceVolume.Delete();
        using var moved = destinationPool.LookupStorageVolByName(ctx.Name);
        return Done(ctx, moved, destinationPool, targetNode, target, target is null ? await qemuImg.InfoAsync(copy.Path, cancellationToken: ct).ConfigureAwait(false) : null,
            $"Disk {ctx.Name} was migrated from storage pool {sourcePoolName} on node {node} to storage pool {targetPoolName} on node {targetNode} " +
            $"({copy.Bytes} bytes, sha256 {copy.Sha256[..12]}… verified on the target); the source volume was removed.");
    }

    /// <summary>The node of the VirtualMachinePool object named <paramref name="poolName"/> (same namespace), as a migration target.</summary>
    private async Task<MigrationTarget> RemotePoolNodeAsync(RequestContext ctx, string poolName, CancellationToken ct)
    {
        var pool = await objects.GetAsync(new ResourceKey(Kinds.VirtualMachinePool, ctx.Namespace, poolName), ct).ConfigureAwait(false);
        var poolNode = pool?.Status?.NodeName is { Length: > 0 } owner ? owner
            : pool?.Metadata.Labels?.TryGetValue(Labels.Host, out var label) == true && !string.IsNullOrEmpty(label) ? label : null;
        if (poolNode is null)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key}.pool: storage pool {poolName} is neither on node {ctx.NodeName} nor a VirtualMachinePool in namespace {ctx.Namespace} " +
                "with a node; create the pool first. Nothing was changed.");
        }

        return await targets.FindByNodeAsync(poolNode, ct).ConfigureAwait(false) ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"{Key}.pool: storage pool {poolName} is on node {poolNode}, whose agent publishes no address for migrations " +
            $"({MigrationTargets.AddressAnnotation} on its Lease); start that agent with --node-address. Nothing was changed.");
    }

    private HandlerResult Done(RequestContext ctx, LibvirtStorageVol volume, LibvirtStoragePool pool, string targetNode, MigrationTarget? target,
        QemuImgInfo? localInfo, string message)
    {
        var old = DiskPlace.Of(ctx.Object);
        var place = new DiskPlace(ctx.Name, pool.Name, pool.Name, old?.PoolType ?? "localfs");
        var view = localInfo is not null
            ? DiskVolumeSteps.View(libvirt.Connection, localInfo, place)
            : RemoteView(volume, place);
        return new HandlerResult.Success(view, null, message, null) { MovedToNode = target is null || targetNode == ctx.NodeName ? null : targetNode };
    }

    /// <summary>spec.volume of a disk on another node, from what that node's libvirt says (its agent's reader completes it later).</summary>
    internal static JsonObject RemoteView(LibvirtStorageVol volume, DiskPlace place)
    {
        var xml = XElement.Parse(volume.GetXmlDesc());
        var path = volume.GetPath();
        var target = xml.Element("target");
        return new JsonObject
        {
            ["disk"] = place.Name,
            ["filename"] = path,
            ["current"] = path,
            ["uni"] = path,
            ["format"] = (string?)target?.Element("format")?.Attribute("type") ?? "raw",
            ["virtual_size"] = Bytes(xml.Element("capacity")),
            ["actual_size"] = Bytes(xml.Element("allocation")),
            ["pool"] = place.Pool,
            ["poolname"] = place.PoolName,
            ["disktype"] = place.PoolType,
            ["vm"] = "",
        };
    }

    private static string Bytes(XElement? element)
    {
        var value = long.Parse((string?)element ?? "0", CultureInfo.InvariantCulture);
        var unit = (string?)element?.Attribute("unit") ?? "bytes";
        return (unit is "bytes" or "B" ? value : unit is "KiB" or "K" ? value * 1024 : value).ToString(CultureInfo.InvariantCulture);
    }
}
