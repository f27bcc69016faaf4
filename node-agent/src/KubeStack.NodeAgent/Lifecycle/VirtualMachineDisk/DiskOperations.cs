using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// Steps shared by the disk handlers, the disk cleanup and the disk reader. Layout (docs/storage.md): a disk is the
/// volume named exactly like its VirtualMachineDisk (metadata.name, no suffix) directly in its pool's directory.
/// </summary>
public static class DiskOperations
{
    /// <summary>createDisk's capacity range (bytes).</summary>
    public const long MinCapacity = 1_000_000_000;
    public const long MaxCapacity = 999_999_999_999;

    /// <summary>The only format createDisk makes.</summary>
    public const string Format = "qcow2";

    /// <summary>
    /// The virtual size a volume of <paramref name="capacity"/> bytes really gets: libvirt hands the size to qemu-img in
    /// KiB, rounded up (1000000000 → 976563K = 1000000512 bytes).
    /// </summary>
    public static long VirtualSizeOf(long capacity) => (capacity + 1023) / 1024 * 1024;

    /// <summary>An active pool named <paramref name="poolName"/>, refreshed so files made behind libvirt count.</summary>
    public static LibvirtStoragePool RequireActivePool(LibvirtConnection connection, string poolName, string node)
    {
        var pool = PoolOperations.Require(connection, poolName, node);
        if (!pool.IsActive())
        {
            pool.Dispose();
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Storage pool {poolName} exists on node {node} but is not active; start it (startPool) first.");
        }

        pool.Refresh();
        return pool;
    }

    /// <summary>
    /// The libvirt volume XML of a qcow2 disk of <paramref name="capacity"/> bytes, qcow2 version 3 (compat 1.1):
    /// without it libvirt makes compat 0.10 images, which qemu-img cannot grow once they hold an internal snapshot
    /// ("Can't resize a v2 image which has snapshots": resizeDisk after createDiskInternalSnapshot failed).
    /// </summary>
    public static string VolumeXml(string name, long capacity) =>
        new XElement("volume",
            new XElement("name", name),
            new XElement("capacity", new XAttribute("unit", "bytes"), capacity.ToString(CultureInfo.InvariantCulture)),
            new XElement("target", new XElement("format", new XAttribute("type", Format)), new XElement("compat", "1.1"))).ToString();

    /// <summary>
    /// The domains (defined or running) with a disk on <paramref name="path"/> (a file source, or a volume source in
    /// <paramref name="poolName"/> named <paramref name="volumeName"/>), sorted.
    /// </summary>
    public static IReadOnlyList<string> DomainsUsing(LibvirtConnection connection, string path, string poolName, string volumeName)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var users = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var domain in connection.ListAllDomains())
        {
            using (domain)
            {
                try
                {
                    var xmls = new List<string> { domain.GetXmlDesc(domain.IsPersistent() ? DomainXmlFlags.Inactive : DomainXmlFlags.None) };
                    if (domain.IsActive())
                    {
                        xmls.Add(domain.GetXmlDesc());
                    }

                    if (xmls.Any(x => UsesDisk(x, path, poolName, volumeName)))
                    {
                        users.Add(domain.Name);
                    }
                }
                catch (LibvirtException ex) when (ex.IsNoDomain)
                {
                    // Undefined while we looked: it uses nothing any more.
                }
            }
        }

        return [.. users];
    }

    /// <summary>Whether a domain XML has a disk whose source is the file <paramref name="path"/> or the pool volume.</summary>
    public static bool UsesDisk(string domainXml, string path, string poolName, string volumeName)
    {
        var disks = XElement.Parse(domainXml).Element("devices")?.Elements("disk") ?? [];
        foreach (var disk in disks)
        {
            var source = disk.Element("source");
            if (source is null)
            {
                continue;
            }

            if ((string?)source.Attribute("file") == path || (string?)source.Attribute("dev") == path)
            {
                return true;
            }

            if ((string?)source.Attribute("pool") == poolName && (string?)source.Attribute("volume") == volumeName)
            {
                return true;
            }

            // The backing chain of an attached overlay also holds the file.
            if (disk.Descendants("backingStore").Select(b => (string?)b.Element("source")?.Attribute("file")).Contains(path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The path a disk named <paramref name="name"/> gets in a pool whose directory is <paramref name="poolPath"/>, checked inside the allowed roots.</summary>
    public static string PathIn(string? poolPath, string name, string poolName, string node)
    {
        if (poolPath is null)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"Storage pool {poolName} on node {node} has no target directory; disks can only be made in directory-backed pools.");
        }

        return SafePath.Resolve($"{poolPath.TrimEnd('/')}/{name}");
    }

    /// <summary>spec.volume for a disk: qemu-img info's fields (with '_' for '-'), values as strings, plus the pool and attachment facts.</summary>
    public static JsonObject View(QemuImgInfo info, DiskPlace place, IReadOnlyList<string> usedBy)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(place);
        ArgumentNullException.ThrowIfNull(usedBy);
        var qcow2 = info.FormatSpecific?.Qcow2;
        var view = new JsonObject
        {
            ["disk"] = place.Name,
            ["filename"] = info.Filename,
            ["current"] = info.Filename,
            ["uni"] = info.Filename,
            ["format"] = info.Format,
            ["virtual_size"] = Num(info.VirtualSize),
            ["actual_size"] = info.ActualSize is { } actual ? Num(actual) : null,
            ["cluster_size"] = info.ClusterSize is { } cluster ? Num(cluster) : null,
            ["dirty_flag"] = info.DirtyFlag is { } dirty ? (dirty ? "true" : "false") : null,
            ["backing_filename"] = info.BackingFilename,
            ["full_backing_filename"] = info.FullBackingFilename,
            ["backing_filename_format"] = info.BackingFilenameFormat,
            ["pool"] = place.Pool,
            ["poolname"] = place.PoolName,
            ["disktype"] = place.PoolType,
            ["vm"] = string.Join(",", usedBy),
        };
        if (info.FormatSpecific is { } specific)
        {
            view["format_specific"] = new JsonObject
            {
                ["type"] = specific.Type,
                ["data"] = qcow2 is null ? new JsonObject() : new JsonObject
                {
                    ["compat"] = qcow2.Compat,
                    ["corrupt"] = qcow2.Corrupt is { } c ? (c ? "true" : "false") : null,
                    ["lazy_refcounts"] = qcow2.LazyRefcounts is { } l ? (l ? "true" : "false") : null,
                    ["refcount_bits"] = qcow2.RefcountBits is { } r ? r.ToString(CultureInfo.InvariantCulture) : null,
                },
            };
        }

        foreach (var key in view.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            view.Remove(key);
        }

        return view;
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Where a disk lives: its name, its pool, the pool's cstor name and type as the seed reports them.</summary>
public sealed record DiskPlace(string Name, string Pool, string PoolName, string PoolType)
{
    /// <summary>The place of an existing disk object: from its request, or from the view written before.</summary>
    public static DiskPlace? Of(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var request = obj.Spec.Lifecycle is { Count: 1 } l ? l.First().Value as JsonObject : null;
        var view = obj.Spec.Volume;
        var pool = Str(request?["pool"]) ?? Str(view?["pool"]);
        if (pool is null)
        {
            return null;
        }

        return new DiskPlace(obj.Metadata.Name, pool, Str(view?["poolname"]) ?? pool, Str(request?["type"]) ?? Str(view?["disktype"]) ?? "localfs");
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
