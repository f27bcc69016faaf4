using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;

/// <summary>
/// Steps shared by the disk image operations and createDiskFromDiskImage. Layout (docs/storage.md): a disk image is the
/// file named exactly like its VirtualMachineDiskImage directly in its pool's directory (like a disk); every file is
/// written under the hidden temporary name <c>.&lt;name&gt;.part</c> and renamed into place only when complete.
/// </summary>
public static class DiskImageSteps
{
    /// <summary>How a file is placed into a pool.</summary>
    public enum PlaceMode
    {
        /// <summary>qemu-img convert to qcow2 (flattens any backing chain).</summary>
        ConvertToQcow2,

        /// <summary>A byte-for-byte copy (ISO images).</summary>
        CopyBytes,

        /// <summary>A qcow2 overlay whose backing file is the source (with its backing format).</summary>
        Overlay,
    }

    /// <summary>The directory of an active pool (refreshed), or a refusal naming the pool.</summary>
    public static string PoolDirectory(LibvirtConnection connection, string poolName, string node)
    {
        using var pool = DiskOperations.RequireActivePool(connection, poolName, node);
        return PoolSnapshot.Read(pool, refresh: false).TargetPath ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"Storage pool {poolName} on node {node} has no target directory; images and disks can only be placed in directory-backed pools.");
    }

    /// <summary>The path of volume <paramref name="name"/> when pool <paramref name="poolName"/> has one, else null.</summary>
    public static string? ExistingVolumePath(LibvirtConnection connection, string poolName, string name, string node)
    {
        using var pool = DiskOperations.RequireActivePool(connection, poolName, node);
        using var volume = pool.TryLookupStorageVolByName(name);
        return volume?.GetPath();
    }

    /// <summary>
    /// Writes <paramref name="source"/> into <paramref name="targetDir"/> as <paramref name="name"/> through the
    /// temporary name (removing a stale one first, and the temporary file again if this attempt fails), then refreshes
    /// the pool so libvirt lists it. Returns the final path.
    /// </summary>
    public static async Task<string> PlaceAsync(LibvirtConnection connection, QemuImg qemuImg, string source, string sourceFormat, string targetPool,
        string targetDir, string name, PlaceMode mode, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        var finalPath = DiskOperations.PathIn(targetDir, name, targetPool, node);
        var partPath = DiskOperations.PathIn(targetDir, CloneDiskHandler.TemporaryName(name), targetPool, node);
        File.Delete(partPath);
        try
        {
            switch (mode)
            {
                case PlaceMode.ConvertToQcow2:
                    await qemuImg.ConvertAsync(source, partPath, DiskOperations.Format, sourceFormat: sourceFormat, cancellationToken: ct).ConfigureAwait(false);
                    break;
                case PlaceMode.CopyBytes:
                    await CopyFileAsync(source, partPath, ct).ConfigureAwait(false);
                    break;
                case PlaceMode.Overlay:
                    await qemuImg.CreateAsync(partPath, DiskOperations.Format, null, source, sourceFormat, cancellationToken: ct).ConfigureAwait(false);
                    break;
            }

            File.Move(partPath, finalPath, overwrite: false);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }

        using (DiskOperations.RequireActivePool(connection, targetPool, node))
        {
            // Refreshed: libvirt now lists the new volume.
        }

        return finalPath;
    }

    /// <summary>Whether the file starts an ISO 9660 volume descriptor ("CD001" at byte 32769).</summary>
    public static bool IsIso9660(string path)
    {
        using var stream = File.OpenRead(path);
        if (stream.Length < 32774)
        {
            return false;
        }

        stream.Seek(32769, SeekOrigin.Begin);
        Span<byte> magic = stackalloc byte[5];
        stream.ReadExactly(magic);
        return magic.SequenceEqual("CD001"u8);
    }

    /// <summary>
    /// What holds <paramref name="path"/> as a backing file: volumes of every active pool whose backing chain names it
    /// (read with qemu-img, shared) and defined or running domains that use it; sorted, as "pool/volume" and "VM name".
    /// </summary>
    public static async Task<IReadOnlyList<string>> BackedUsersAsync(LibvirtConnection connection, QemuImg qemuImg, string path, string poolName,
        string volumeName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(qemuImg);
        var users = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                if (!pool.IsActive())
                {
                    continue;
                }

                pool.Refresh();
                foreach (var volume in pool.ListAllVolumes())
                {
                    using (volume)
                    {
                        var volumePath = volume.GetPath();
                        if (volumePath == path)
                        {
                            continue;
                        }

                        IReadOnlyList<QemuImgInfo> chain;
                        try
                        {
                            chain = await qemuImg.InfoBackingChainAsync(volumePath, cancellationToken: ct).ConfigureAwait(false);
                        }
                        catch (HostToolException)
                        {
                            continue; // not an image qemu-img can read (e.g. a directory or a broken file): it backs onto nothing
                        }

                        if (chain.Skip(1).Any(i => i.Filename == path))
                        {
                            users.Add($"volume {pool.Name}/{volume.Name}");
                        }
                    }
                }
            }
        }

        foreach (var vm in DiskOperations.DomainsUsing(connection, path, poolName, volumeName))
        {
            users.Add($"VM {vm}");
        }

        return [.. users];
    }

    private static async Task CopyFileAsync(string source, string destination, CancellationToken ct)
    {
        var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await using (input.ConfigureAwait(false))
        {
            var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
            await using (output.ConfigureAwait(false))
            {
                await input.CopyToAsync(output, ct).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }
}
