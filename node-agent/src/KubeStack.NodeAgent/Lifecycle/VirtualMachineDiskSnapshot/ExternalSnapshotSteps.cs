using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;

/// <summary>
/// Offline external disk snapshots as backing chains (docs/storage.md). The disk's own file
/// (<c>&lt;pool&gt;/&lt;vol&gt;</c>) always stays its active, writable layer, so a VM defined on it keeps working and never
/// runs on a snapshot's file. Taking snapshot S renames the active layer to the frozen file <c>&lt;pool&gt;/&lt;vol&gt;.&lt;S&gt;</c>
/// and puts a new empty qcow2 overlay backed by it at the disk's path. Revert puts a new empty overlay backed by S at the
/// disk's path (later snapshots stay valid chains of their own). Delete merges S into each file backed by it with a safe
/// <c>qemu-img rebase</c> onto S's own backing file (data copied, never <c>-u</c>), then removes S. Create and delete on a
/// disk a running VM writes to go through libvirt (<see cref="LiveDiskSnapshots"/>); revert is refused while a running
/// VM uses the disk (the catalog: the VM must be shut down).
/// </summary>
public static class ExternalSnapshotSteps
{
    /// <summary>The request's parts after probing: the disk's pool directory and path, and the snapshot file's path.</summary>
    public sealed record Target(string Pool, string Vol, string DiskPath, string SnapshotPath, string Type);

    public static Target Resolve(LibvirtHost libvirt, RequestContext context, string operation)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var node = context.NodeName;
        var type = StorageParameters.Required(p, "type", operation);
        PoolOperations.RefuseVendorType(type, node);
        var format = StorageParameters.Optional(p, "format") ?? DiskOperations.Format;
        if (format != DiskOperations.Format)
        {
            throw new RequestParameterException("format", $"{operation}.format must be qcow2, not '{format}'.");
        }

        var poolName = StorageParameters.Required(p, "pool", operation);
        var vol = DiskVolumeSteps.RequireName(p, "vol", operation);
        string dir;
        using (var pool = DiskOperations.RequireActivePool(libvirt.Connection, poolName, node))
        {
            dir = PoolSnapshot.Read(pool, refresh: false).TargetPath ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"Storage pool {poolName} on node {node} has no target directory; external snapshots need a directory-backed pool.");
        }

        return new Target(poolName, vol, DiskOperations.PathIn(dir, vol, poolName, node),
            DiskOperations.PathIn(dir, $"{vol}.{context.Name}", poolName, node), type);
    }

    /// <summary>Refuses (revert) while a running VM uses the disk or the snapshot file: the catalog requires the VM to be shut down.</summary>
    public static void RefuseLive(LibvirtConnection connection, Target target, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(target);
        var running = DiskVolumeSteps.RunningUsers(connection, target.DiskPath, target.Pool, target.Vol)
            .Concat(DiskVolumeSteps.RunningUsers(connection, target.SnapshotPath, target.Pool, Path.GetFileName(target.SnapshotPath)))
            .Distinct(StringComparer.Ordinal).ToList();
        if (running.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{operation} on disk {target.Vol} is refused on node {node}: VM {string.Join(", ", running)} is running on it, and the disk's content " +
                "cannot be swapped under a running guest (the catalog requires the VM to be shut down). Stop the VM and submit the request again; nothing was changed.");
        }
    }

    /// <summary>The files of every active pool whose direct backing file is <paramref name="path"/>, sorted.</summary>
    public static async Task<IReadOnlyList<string>> ChildrenOfAsync(LibvirtConnection connection, QemuImg qemuImg, string path, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(qemuImg);
        var children = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                IReadOnlyList<LibvirtStorageVol> volumes;
                try
                {
                    if (!pool.IsActive())
                    {
                        continue;
                    }

                    pool.Refresh();
                    volumes = pool.ListAllVolumes();
                }
                catch (LibvirtException ex) when (LibvirtErrorClassifier.IsNotFound(ex.Code) || LibvirtErrorClassifier.IsOperationInvalid(ex.Code))
                {
                    continue; // removed or stopped while we looked: it holds nothing
                }

                foreach (var volume in volumes)
                {
                    using (volume)
                    {
                        string volumePath;
                        try
                        {
                            volumePath = volume.GetPath();
                        }
                        catch (LibvirtException ex) when (LibvirtErrorClassifier.IsNotFound(ex.Code))
                        {
                            continue; // deleted while we looked
                        }

                        try
                        {
                            var info = await qemuImg.InfoAsync(volumePath, cancellationToken: ct).ConfigureAwait(false);
                            if (info.FullBackingFilename == path || info.BackingFilename == path)
                            {
                                children.Add(volumePath);
                            }
                        }
                        catch (HostToolException)
                        {
                            // Not an image qemu-img can read: it backs onto nothing.
                        }
                    }
                }
            }
        }

        return [.. children];
    }

    /// <summary>spec.volume of the snapshot: the snapshot file's qemu-img view plus the disk it belongs to and the disk's chain.</summary>
    public static async Task<JsonObject> ViewAsync(LibvirtConnection connection, QemuImg qemuImg, Target target, string snapshot, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(target);
        var info = await qemuImg.InfoAsync(target.SnapshotPath, cancellationToken: ct).ConfigureAwait(false);
        var view = DiskOperations.View(info, new DiskPlace(snapshot, target.Pool, target.Pool, target.Type),
            DiskOperations.DomainsUsing(connection, target.DiskPath, target.Pool, target.Vol));
        view["snapshot"] = snapshot;
        view["vol"] = target.Vol;
        view["current"] = target.DiskPath;
        if (File.Exists(target.DiskPath))
        {
            var chain = await qemuImg.InfoBackingChainAsync(target.DiskPath, cancellationToken: ct).ConfigureAwait(false);
            view["backing_chain"] = new JsonArray([.. chain.Select(i => (JsonNode)JsonValue.Create(i.Filename))]);
        }

        return view;
    }

    /// <summary>Refreshes the pool so libvirt's volume list matches the files.</summary>
    public static void Refresh(LibvirtConnection connection, string pool, string node)
    {
        using (DiskOperations.RequireActivePool(connection, pool, node))
        {
        }
    }
}
