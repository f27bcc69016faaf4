using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// restoreDisk: restores disk backup version <c>version</c> of disk <c>vol</c> of VM <c>domain</c> from pool <c>pool</c>
/// (docs/backup.md, Restore). Without <c>newname</c> over the disk itself (no running VM may use it); with it into a new
/// volume in pool <c>target</c> (default: the disk's pool), attached to VM <c>targetDomain</c> when given (next free
/// vd* target; persistent, and live when that VM runs). The chain's checksums are verified and the fit checked first.
/// </summary>
public sealed class RestoreDiskHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupVmSteps _steps = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "restoreDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync("Restoring a disk backup", Key, context.NodeName, () => RestoreAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> RestoreAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var connection = libvirt.Connection;
        var domain = BackupNames.Parameter(p, "domain", Key);
        var pool = BackupNames.Parameter(p, "pool", Key);
        var vol = BackupNames.Parameter(p, "vol", Key);
        var version = BackupNames.Parameter(p, "version", Key);
        var newName = BackupNames.OptionalParameter(p, "newname", Key);
        var targetPool = StorageParameters.Optional(p, "target");
        var targetDomainName = StorageParameters.Optional(p, "targetDomain");
        if (targetDomainName is not null && newName is null)
        {
            throw new RequestParameterException("targetDomain", $"{Key}.targetDomain needs newname: only a new disk made from the backup is attached to a VM.");
        }

        var store = new BackupStore(BackupSources.Layout(connection, pool, Key, node), domain, vol);
        var (manifest, verified) = await _steps.Restorer.LoadVerifiedAsync(store, version, _ => true, Key, node, ct).ConfigureAwait(false);
        var disk = verified.Single();
        string destination;
        if (newName is null)
        {
            destination = DestinationOf(connection, disk.Entry);
            var running = DiskVolumeSteps.RunningUsers(connection, destination, disk.Entry.Pool ?? string.Empty, disk.Entry.Volume);
            if (running.Count > 0)
            {
                throw BackupStore.Refused($"{Key} is refused on node {node}: VM {string.Join(", ", running)} is running on disk {vol}; a restore replaces " +
                    "the disk, so stop the VM and submit the request again. Nothing was changed.");
            }
        }
        else
        {
            var poolName = targetPool ?? disk.Entry.Pool ?? throw new RequestParameterException("target",
                $"{Key}.target is needed: disk {vol} was in no storage pool when it was backed up.");
            destination = SafePath.Resolve($"{BackupSources.PoolDirectory(connection, poolName, "target", Key, node).TrimEnd('/')}/{newName}");
            using var targetDomain = targetDomainName is null ? null : connection.TryLookupDomainByName(targetDomainName) ?? throw BackupStore.Refused(
                $"{Key}.targetDomain is refused on node {node}: VM {targetDomainName} does not exist. Nothing was changed.");
            if (File.Exists(destination))
            {
                if (context.Attempt > 1 && (targetDomain is null || AttachedAt(connection, targetDomain, destination) is not null))
                {
                    return HandlerResult.Succeeded(_steps.PoolViewOf(context), message:
                        $"Disk {newName} was already restored from version {version} of disk {vol} on node {node} ({destination}, interrupted attempt).");
                }

                if (!(context.Attempt > 1 && targetDomain is not null))
                {
                    throw BackupStore.Refused($"{Key}.newname is refused on node {node}: {destination} already exists. Choose another name. Nothing was changed.");
                }
            }
        }

        var item = new RestoreItem(disk, destination, disk.Entry.SourceFormat);
        if (!File.Exists(destination) || newName is null)
        {
            await _steps.Restorer.MaterializeAsync([item], ct).ConfigureAwait(false);
            _steps.RefreshPools([item]);
        }

        var attached = string.Empty;
        if (targetDomainName is not null)
        {
            using var targetDomain = connection.LookupDomainByName(targetDomainName);
            var dev = AttachedAt(connection, targetDomain, destination) ?? Attach(targetDomain, destination, disk.Entry.SourceFormat);
            attached = $" and attached to VM {targetDomainName} as {dev}";
        }

        return HandlerResult.Succeeded(_steps.PoolViewOf(context), message:
            $"Disk backup version {version} ({manifest.Mode}) of disk {vol} of VM {domain} was restored on node {node} to {destination}{attached}.");
    }

    /// <summary>Where the backed-up volume lives now (its pool's volume), else its recorded path.</summary>
    private static string DestinationOf(LibvirtConnection connection, BackupDiskEntry entry)
    {
        if (entry.Pool is not null)
        {
            using var pool = connection.TryLookupStoragePoolByName(entry.Pool);
            if (pool?.IsActive() == true)
            {
                pool.Refresh();
                using var volume = pool.TryLookupStorageVolByName(entry.Volume);
                if (volume is not null)
                {
                    return volume.GetPath();
                }
            }
        }

        return entry.SourcePath;
    }

    private static string? AttachedAt(LibvirtConnection connection, LibvirtDomain domain, string path) =>
        BackupSources.DisksOf(connection, domain.GetXmlDesc(DomainXmlFlags.Inactive)).FirstOrDefault(d => d.Path == path).Target;

    /// <summary>Attaches <paramref name="path"/> at the first free vd* target (persistent; live too when the VM runs); returns the target.</summary>
    private static string Attach(LibvirtDomain domain, string path, string format)
    {
        var used = XElement.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive)).Descendants("target").Select(t => (string?)t.Attribute("dev")).OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var dev = Enumerable.Range(0, 26).Select(i => $"vd{(char)('a' + i)}").FirstOrDefault(d => !used.Contains(d)) ?? throw BackupStore.Refused(
            $"VM {domain.Name} has no free vd* target left for the restored disk {path}.");
        var xml = new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
            new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", format)),
            new XElement("source", new XAttribute("file", path)),
            new XElement("target", new XAttribute("dev", dev), new XAttribute("bus", "virtio"))).ToString();
        domain.AttachDeviceFlags(xml, domain.IsActive() ? DomainModificationFlags.Config | DomainModificationFlags.Live : DomainModificationFlags.Config);
        return dev;
    }
}
