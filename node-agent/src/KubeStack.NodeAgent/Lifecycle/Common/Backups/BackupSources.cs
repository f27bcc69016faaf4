using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>A disk to back up: where it is attached, which volume it is, its file and format.</summary>
public sealed record BackupSourceDisk(string Target, bool System, string Volume, string? Pool, string Path, string Format, long VirtualSize);

/// <summary>Reads the disks of a domain (device=disk, file or pool-volume sources) and resolves pools and volumes.</summary>
public static class BackupSources
{
    /// <summary>The disks of a domain XML in document order (the first is the system disk): target, source file (volumes resolved through libvirt).</summary>
    public static IReadOnlyList<(string Target, string Path)> DisksOf(LibvirtConnection connection, string domainXml)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var result = new List<(string, string)>();
        var disks = XElement.Parse(domainXml).Element("devices")?.Elements("disk").Where(d => (string?)d.Attribute("device") is null or "disk") ?? [];
        foreach (var disk in disks)
        {
            var target = (string?)disk.Element("target")?.Attribute("dev");
            var source = disk.Element("source");
            if (target is null || source is null)
            {
                continue;
            }

            var path = (string?)source.Attribute("file");
            if (path is null && (string?)source.Attribute("pool") is { } pool && (string?)source.Attribute("volume") is { } volume)
            {
                using var p = connection.LookupStoragePoolByName(pool);
                using var v = p.LookupStorageVolByName(volume);
                path = v.GetPath();
            }

            if (path is not null)
            {
                result.Add((target, path));
            }
        }

        return result;
    }

    /// <summary>The name of the libvirt pool whose directory holds <paramref name="path"/> directly, or null.</summary>
    public static string? PoolOf(LibvirtConnection connection, string path)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var directory = System.IO.Path.GetDirectoryName(path);
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                var target = (string?)XElement.Parse(pool.GetXmlDesc()).Element("target")?.Element("path");
                if (target is not null && target.TrimEnd('/') == directory)
                {
                    return pool.Name;
                }
            }
        }

        return null;
    }

    /// <summary>Describes one attached disk for a backup (qemu-img info for format and size; -U so a running VM's disk can be read).</summary>
    public static async Task<BackupSourceDisk> DescribeAsync(LibvirtConnection connection, QemuImg qemuImg, string target, bool system, string path,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        var info = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        return new BackupSourceDisk(target, system, System.IO.Path.GetFileName(path), PoolOf(connection, path), path, info.Format, info.VirtualSize);
    }

    /// <summary>The directory of an active pool (through libvirt), refused with a LibvirtError/VirtctlError naming it otherwise.</summary>
    public static string PoolDirectory(LibvirtConnection connection, string poolName, string parameter, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var pool = connection.TryLookupStoragePoolByName(poolName) ?? throw new StorageRefusedException(ErrorClasses.LibvirtError,
            $"{operation}.{parameter}: storage pool {poolName} does not exist on node {node}; name an existing VirtualMachinePool.");
        if (!pool.IsActive())
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{operation}.{parameter}: storage pool {poolName} exists on node {node} but is not active; start it (startPool) first.");
        }

        return (string?)XElement.Parse(pool.GetXmlDesc()).Element("target")?.Element("path") ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"{operation}.{parameter}: storage pool {poolName} on node {node} has no target directory; backups need a directory-backed pool.");
    }

    /// <summary>The backup area of the pool <paramref name="poolName"/>.</summary>
    public static BackupLayout Layout(LibvirtConnection connection, string poolName, string operation, string node) =>
        BackupLayout.ForPoolDirectory(PoolDirectory(connection, poolName, "pool", operation, node));
}
