using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// Steps shared by the disk operations that work on an existing disk's file (resizeDisk, cloneDisk, the internal
/// snapshot operations): find the disk's volume, tell whether a running VM holds it, read its view.
/// </summary>
public static partial class DiskVolumeSteps
{
    /// <summary>An existing disk volume: its pool and place, its file and what qemu-img says about it.</summary>
    public sealed record ExistingDisk(DiskPlace Place, string Path, QemuImgInfo Info);

    /// <summary>
    /// The volume named like the disk object in pool <paramref name="poolName"/> (which must be active), read with
    /// qemu-img. A missing volume is a LibvirtError naming pool and node.
    /// </summary>
    public static async Task<ExistingDisk> RequireAsync(LibvirtHost libvirt, QemuImg qemuImg, RequestContext context, string poolName, string type,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(context);
        using var pool = DiskOperations.RequireActivePool(libvirt.Connection, poolName, context.NodeName);
        using var volume = pool.TryLookupStorageVolByName(context.Name) ?? throw new StorageRefusedException(ErrorClasses.LibvirtError,
            $"Disk {context.Name} is not in storage pool {poolName} on node {context.NodeName}; create it (createDisk) first or name the pool it is in.");
        var path = volume.GetPath();
        var info = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        return new ExistingDisk(new DiskPlace(context.Name, poolName, PoolNameOf(context.Object, poolName), type), path, info);
    }

    /// <summary>The running domains whose live XML has <paramref name="path"/> (or the pool volume) as a disk or in a disk's backing chain, sorted.</summary>
    public static IReadOnlyList<string> RunningUsers(LibvirtConnection connection, string path, string poolName, string volumeName)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var users = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var domain in connection.ListAllDomains())
        {
            using (domain)
            {
                try
                {
                    if (domain.IsActive() && DiskOperations.UsesDisk(domain.GetXmlDesc(), path, poolName, volumeName))
                    {
                        users.Add(domain.Name);
                    }
                }
                catch (LibvirtException ex) when (ex.IsNoDomain)
                {
                    // Gone while we looked: it holds nothing.
                }
            }
        }

        return [.. users];
    }

    /// <summary>Refuses (VirtctlError) an offline-only change of a disk that a running VM holds, naming the VMs.</summary>
    public static void RefuseWhileRunning(LibvirtConnection connection, ExistingDisk disk, string operation, string node, string what)
    {
        ArgumentNullException.ThrowIfNull(disk);
        var running = RunningUsers(connection, disk.Path, disk.Place.Pool, disk.Place.Name);
        if (running.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{operation} of disk {disk.Place.Name} is refused on node {node}: VM {string.Join(", ", running)} is running on it " +
                $"and this agent {what} only while no running VM uses the disk. Stop the VM and submit the request again; nothing was changed.");
        }
    }

    /// <summary>The disk's spec.volume with the domains (defined or running) that use it.</summary>
    public static JsonObject View(LibvirtConnection connection, QemuImgInfo info, DiskPlace place) =>
        DiskOperations.View(info, place, DiskOperations.DomainsUsing(connection, info.Filename, place.Pool, place.Name));

    /// <summary>A name as the catalog allows for disks and snapshots: 4-100 lowercase letters, digits, '-' and '.', not starting with '-' or '.'.</summary>
    public static string RequireName(JsonObject parameters, string key, string operation)
    {
        var value = StorageParameters.Required(parameters, key, operation);
        if (!NameRule().IsMatch(value))
        {
            throw new RequestParameterException(key,
                $"{operation}.{key} must be 4 to 100 characters of lowercase letters, digits, '-' and '.', starting with a letter or digit, not '{value}'.");
        }

        return value;
    }

    /// <summary>Refuses a disk whose format is not qcow2 for an operation that needs qcow2.</summary>
    public static void RequireQcow2(ExistingDisk disk, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(disk);
        if (disk.Info.Format != DiskOperations.Format)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{operation} needs a qcow2 disk, but disk {disk.Place.Name} ({disk.Path}) on node {node} is {disk.Info.Format}; nothing was changed.");
        }
    }

    private static string PoolNameOf(KubeStackResource obj, string poolName) =>
        obj.Spec.Volume?["poolname"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : poolName;

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{3,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRule();
}
