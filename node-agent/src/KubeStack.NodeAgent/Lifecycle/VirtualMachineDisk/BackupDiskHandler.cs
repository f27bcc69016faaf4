using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// backupDisk: this disk into <c>kubestack-backups/&lt;domain&gt;/disks/&lt;disk&gt;/&lt;version&gt;/</c> of pool <c>pool</c>
/// (docs/backup.md). <c>domain</c> is the VM the disk belongs to; when it is not given, the one VM that has the disk
/// attached. full=true makes a self-contained version, otherwise an incremental one on the newest complete version of
/// this disk (full when there is none). When that VM runs, the disk is read through a libvirt push backup job.
/// </summary>
public sealed class BackupDiskHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupWriter _writer = new(qemuImg, crash);

    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "backupDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Backing up disk {context.Name}", Key, context.NodeName, () => BackupAsync(context, cancellationToken));
    }

    /// <summary>The active pool holding a volume named <paramref name="volume"/>, or null.</summary>
    private static string? FindPool(LibvirtConnection connection, string volume)
    {
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                if (pool.IsActive())
                {
                    using var found = pool.TryLookupStorageVolByName(volume);
                    if (found is not null)
                    {
                        return pool.Name;
                    }
                }
            }
        }

        return null;
    }

    private async Task<HandlerResult> BackupAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var connection = libvirt.Connection;
        var pool = BackupNames.Parameter(p, "pool", Key);
        var version = BackupNames.Parameter(p, "version", Key);
        var full = StorageParameters.Flag(p, "full", Key) ?? false;
        _ = RemoteBackupServer.Optional(p, Key); // the FTP parameters are checked before any work
        var domainName = StorageParameters.Optional(p, "domain");
        var volume = BackupNames.Require(context.Name, "name", Key);
        // The request's pool is the backup pool: the disk's own pool comes from its view (spec.volume.pool), else from
        // the pools that hold a volume of this name.
        var diskPoolName = (context.Object.Spec.Volume?["pool"] as System.Text.Json.Nodes.JsonValue)?.GetValue<string>() ?? FindPool(connection, volume)
            ?? throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"{Key} cannot run: disk {volume} is in no storage pool on node {node} (spec.volume.pool is not set); create it with createDisk first.");
        var place = (DiskPlace.Of(context.Object) ?? new DiskPlace(volume, diskPoolName, diskPoolName, "localfs")) with { Pool = diskPoolName, PoolName = diskPoolName };
        string path;
        using (var diskPool = DiskOperations.RequireActivePool(connection, place.Pool, node))
        using (var vol = diskPool.TryLookupStorageVolByName(volume) ?? throw new StorageRefusedException(ErrorClasses.VirtletError,
                   $"{Key} cannot run: disk {volume} is not in storage pool {place.Pool} on node {node} (removed outside KubeStack?)."))
        {
            path = vol.GetPath();
        }

        if (domainName is null)
        {
            var users = DiskOperations.DomainsUsing(connection, path, place.Pool, volume);
            domainName = users.Count == 1 ? users[0] : throw new RequestParameterException("domain",
                $"{Key}.domain is needed: disk {volume} is attached to " + (users.Count == 0 ? "no VM" : $"several VMs ({string.Join(", ", users)})") +
                "; name the VM whose backups it belongs to.");
        }

        BackupNames.Require(domainName, "domain", Key);
        using var domain = connection.TryLookupDomainByName(domainName);
        var target = volume;
        LibvirtDomain? running = null;
        if (domain is not null)
        {
            var at = BackupSources.DisksOf(connection, domain.GetXmlDesc(DomainXmlFlags.Inactive)).FirstOrDefault(d => d.Path == path);
            if (at.Path is not null)
            {
                target = at.Target;
            }

            if (domain.IsActive() && BackupSources.DisksOf(connection, domain.GetXmlDesc()).Any(d => d.Path == path))
            {
                running = domain;
                target = BackupSources.DisksOf(connection, domain.GetXmlDesc()).First(d => d.Path == path).Target;
            }
        }

        var info = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        var source = new BackupSourceDisk(target, false, volume, place.Pool, path, info.Format, info.VirtualSize);
        var layout = BackupSources.Layout(connection, pool, Key, node);
        var request = new BackupRequest(domainName, volume, version, full, false, node, context.Attempt, Key);
        var outcome = await _writer.BackupAsync(new BackupStore(layout, domainName, volume), request, [source], null, running, ct).ConfigureAwait(false);
        var message = BackupVmSteps.Describe(outcome, $"Disk {volume} of VM {domainName}", pool, node);
        var pushed = await RemoteBackupRequests.PushAfterBackupAsync(layout, context, domainName, volume, version, ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, info, place), message: pushed is null ? message : $"{message} {pushed}");
    }
}
