using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>The steps of the VM backup operations shared by the VirtualMachine and VirtualMachinePool handlers.</summary>
public sealed class BackupVmSteps(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
{
    public LibvirtConnection Connection => libvirt.Connection;

    public BackupWriter Writer { get; } = new(qemuImg, crash);

    public BackupRestorer Restorer { get; } = new(qemuImg);

    /// <summary>backupVM: the system disk (or all disks) of <paramref name="domain"/> into <c>vm/&lt;version&gt;</c> of the pool's area.</summary>
    public async Task<(BackupOutcome Outcome, string Message)> BackupVmAsync(LibvirtDomain domain, string pool, string version, bool full, bool all,
        RequestContext ctx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(ctx);
        var layout = BackupSources.Layout(Connection, pool, ctx.Key, ctx.NodeName);
        var xml = domain.GetXmlDesc(DomainXmlFlags.Inactive);
        var attached = BackupSources.DisksOf(Connection, xml);
        if (attached.Count == 0)
        {
            throw BackupStore.Refused($"{ctx.Key} of VM {domain.Name} is refused on node {ctx.NodeName}: the VM has no file disk to back up.");
        }

        var chosen = all ? attached : attached.Take(1).ToList();
        var disks = new List<BackupSourceDisk>();
        for (var i = 0; i < chosen.Count; i++)
        {
            disks.Add(await BackupSources.DescribeAsync(Connection, qemuImg, chosen[i].Target, i == 0, chosen[i].Path, ct).ConfigureAwait(false));
        }

        var running = domain.IsActive();
        var request = new BackupRequest(domain.Name, null, version, full, all, ctx.NodeName, ctx.Attempt, ctx.Key);
        var outcome = await Writer.BackupAsync(new BackupStore(layout, domain.Name, null), request, disks, xml, running ? domain : null, ct)
            .ConfigureAwait(false);
        return (outcome, Describe(outcome, $"VM {domain.Name}", pool, ctx.NodeName));
    }

    /// <summary>The sentence that tells what a backup made.</summary>
    public static string Describe(BackupOutcome outcome, string what, string pool, string node)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var m = outcome.Manifest;
        var kind = m.Mode == BackupManifest.ModeIncremental ? $"incremental (parent {m.Parent})" : "full";
        var because = outcome.FullBecause is null ? string.Empty : $" It is full because {outcome.FullBecause}.";
        var again = outcome.AlreadyDone ? " (found complete from the interrupted attempt)" : string.Empty;
        return $"{what} was backed up as {kind} version {m.Version}{again} in pool {pool} on node {node}: " +
            $"{string.Join(", ", m.Disks.Select(d => $"{d.Target} ({d.Volume}, {d.Bytes} bytes, {d.Mode})"))}; read by {m.Method}.{because}";
    }

    /// <summary>
    /// restoreVM / restoreVMBackup: the system disk (or all disks) of version <paramref name="version"/> of
    /// <paramref name="domainName"/>'s VM backups into the same VM (<paramref name="newName"/> null) or a new VM. Every
    /// refusal happens before anything is changed. Returns the sentence for the result.
    /// </summary>
    public async Task<string> RestoreVmAsync(string domainName, string pool, string version, bool all, string? newName, string? targetPool,
        RequestContext ctx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var op = ctx.Key;
        var node = ctx.NodeName;
        var layout = BackupSources.Layout(Connection, pool, op, node);
        var store = new BackupStore(layout, domainName, null);
        var (manifest, verified) = await Restorer.LoadVerifiedAsync(store, version, d => d.System || all, op, node, ct).ConfigureAwait(false);
        if (all && !manifest.AllDisks && manifest.Disks.All(d => d.System))
        {
            throw BackupStore.Refused($"{op} with all=true is refused on node {node}: version {version} of VM {domainName} holds only the system disk " +
                "(it was made without all=true). Restore it with all=false. Nothing was changed.");
        }

        if (verified.Count == 0)
        {
            throw BackupStore.Refused($"{op} is refused on node {node}: version {version} of VM {domainName} holds no system disk. Nothing was changed.");
        }

        return newName is null
            ? await RestoreInPlaceAsync(domainName, manifest, verified, ctx, ct).ConfigureAwait(false)
            : await RestoreAsNewAsync(domainName, manifest, verified, newName, targetPool, ctx, ct).ConfigureAwait(false);
    }

    private async Task<string> RestoreInPlaceAsync(string domainName, BackupManifest manifest, IReadOnlyList<VerifiedDisk> verified, RequestContext ctx,
        CancellationToken ct)
    {
        var op = ctx.Key;
        var node = ctx.NodeName;
        using var domain = Connection.TryLookupDomainByName(domainName);
        var items = new List<RestoreItem>();
        if (domain is not null)
        {
            if (domain.IsActive())
            {
                throw BackupStore.Refused($"{op} is refused on node {node}: VM {domainName} is running; a restore replaces its disks, so stop it " +
                    "(stopVM) and submit the request again. Nothing was changed.");
            }

            var current = BackupSources.DisksOf(Connection, domain.GetXmlDesc(DomainXmlFlags.Inactive));
            foreach (var disk in verified)
            {
                var at = current.FirstOrDefault(c => c.Target == disk.Entry.Target);
                if (at.Path is null || (!disk.Entry.System && Path.GetFileName(at.Path) != disk.Entry.Volume))
                {
                    throw BackupStore.Refused($"{op} is refused on node {node}: the backup's data disk {disk.Entry.Volume} must still be attached to VM " +
                        $"{domainName} at {disk.Entry.Target} for an all-disk restore" +
                        (at.Path is null ? $", but the VM has no disk {disk.Entry.Target}" : $", but {disk.Entry.Target} is now {at.Path}") +
                        ". Attach it again or restore with all=false. Nothing was changed.");
                }

                items.Add(new RestoreItem(disk, at.Path, disk.Entry.SourceFormat));
            }

            await Restorer.MaterializeAsync(items, ct).ConfigureAwait(false);
            RefreshPools(items);
            return $"VM {domainName} on node {node} was restored from backup version {manifest.Version} ({Targets(items)}); it stays shut off.";
        }

        // The domain is gone: its disks go back to their recorded places and the domain is defined from the manifest.
        var restored = verified.Select(v => v.Entry.Target).ToHashSet(StringComparer.Ordinal);
        var missing = BackupSources.DisksOf(Connection, manifest.DomainXml!).Where(d => !restored.Contains(d.Target) && !File.Exists(d.Path)).ToList();
        if (missing.Count > 0)
        {
            throw BackupStore.Refused($"{op} is refused on node {node}: VM {domainName} no longer exists and its definition in version {manifest.Version} " +
                $"needs disks that are not part of this restore and do not exist: {string.Join(", ", missing.Select(m => $"{m.Target} ({m.Path})"))}. " +
                "Restore with all=true from an all-disk backup. Nothing was changed.");
        }

        items.AddRange(verified.Select(v => new RestoreItem(v, v.Entry.SourcePath, v.Entry.SourceFormat)));
        await Restorer.MaterializeAsync(items, ct).ConfigureAwait(false);
        RefreshPools(items);
        using (Connection.DefineXml(manifest.DomainXml!))
        {
        }

        return $"VM {domainName} did not exist on node {node}; it was defined again from backup version {manifest.Version} with its disks restored " +
            $"({Targets(items)}); it stays shut off.";
    }

    private async Task<string> RestoreAsNewAsync(string domainName, BackupManifest manifest, IReadOnlyList<VerifiedDisk> verified, string newName,
        string? targetPool, RequestContext ctx, CancellationToken ct)
    {
        var op = ctx.Key;
        var node = ctx.NodeName;
        BackupNames.Require(newName, "newname", op);
        using (var existing = Connection.TryLookupDomainByName(newName))
        {
            if (existing is not null)
            {
                if (ctx.Attempt > 1 && existing.GetXmlDesc(DomainXmlFlags.Inactive).Contains($"kubestack-restored-from:{domainName}/{manifest.Version}", StringComparison.Ordinal))
                {
                    return $"VM {newName} was already restored from version {manifest.Version} of VM {domainName} on node {node} (interrupted attempt).";
                }

                throw BackupStore.Refused($"{op}.newname is refused on node {node}: a VM named {newName} already exists. Choose another name. Nothing was changed.");
            }
        }

        var items = new List<RestoreItem>();
        foreach (var disk in verified)
        {
            var poolName = targetPool ?? disk.Entry.Pool ?? throw BackupStore.Refused(
                $"{op} is refused on node {node}: disk {disk.Entry.Target} of the backup was in no storage pool; name one with target. Nothing was changed.");
            var dir = BackupSources.PoolDirectory(Connection, poolName, "target", op, node);
            var volume = disk.Entry.System ? newName : $"{newName}-{disk.Entry.Target}";
            var destination = SafePath.Resolve($"{dir.TrimEnd('/')}/{volume}");
            if (File.Exists(destination))
            {
                throw BackupStore.Refused($"{op} is refused on node {node}: the new VM's disk {destination} already exists in pool {poolName}. " +
                    "Choose another newname or remove that volume. Nothing was changed.");
            }

            items.Add(new RestoreItem(disk, destination, disk.Entry.SourceFormat));
        }

        var xml = NewDomainXml(manifest.DomainXml!, domainName, newName, manifest.Version, items);
        await Restorer.MaterializeAsync(items, ct).ConfigureAwait(false);
        RefreshPools(items);
        try
        {
            using (Connection.DefineXml(xml))
            {
            }
        }
        catch
        {
            foreach (var item in items)
            {
                File.Delete(item.Destination);
            }

            throw;
        }

        return $"VM {newName} was created (defined, shut off) on node {node} from backup version {manifest.Version} of VM {domainName} ({Targets(items)}).";
    }

    /// <summary>
    /// The manifest's domain XML for a new VM: new name, no UUID, no MAC addresses and no OVS interface ids (libvirt makes
    /// new ones), only the restored disks, pointing at their new files; a serial log named after the old VM is renamed.
    /// </summary>
    public static string NewDomainXml(string domainXml, string oldName, string newName, string version, IReadOnlyList<RestoreItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var root = XElement.Parse(domainXml);
        root.Element("name")!.Value = newName;
        root.Element("uuid")?.Remove();
        var description = root.Element("description") ?? new XElement("description");
        description.Value = $"kubestack-restored-from:{oldName}/{version}";
        if (description.Parent is null) root.AddFirst(description);
        var devices = root.Element("devices");
        foreach (var iface in devices?.Elements("interface").ToList() ?? [])
        {
            iface.Element("mac")?.Remove();
            iface.Element("target")?.Remove();
            iface.Element("virtualport")?.Element("parameters")?.Attribute("interfaceid")?.Remove();
        }

        var byTarget = items.ToDictionary(i => i.Disk.Entry.Target, StringComparer.Ordinal);
        foreach (var disk in devices?.Elements("disk").Where(d => (string?)d.Attribute("device") is null or "disk").ToList() ?? [])
        {
            var target = (string?)disk.Element("target")?.Attribute("dev");
            if (target is null || !byTarget.TryGetValue(target, out var item))
            {
                disk.Remove();
                continue;
            }

            disk.SetAttributeValue("type", "file");
            disk.Element("source")?.Remove();
            disk.Element("backingStore")?.Remove();
            disk.Element("driver")?.SetAttributeValue("type", item.Format);
            disk.Element("serial")?.Remove();
            disk.Add(new XElement("source", new XAttribute("file", item.Destination)));
        }

        foreach (var log in root.Descendants("log"))
        {
            if ((string?)log.Attribute("file") is { } file && file.Contains(oldName, StringComparison.Ordinal))
            {
                log.SetAttributeValue("file", file.Replace(oldName, newName, StringComparison.Ordinal));
            }
        }

        return root.ToString();
    }

    /// <summary>Refreshes the pools that hold the restored files, so libvirt lists new volumes (best effort).</summary>
    public void RefreshPools(IEnumerable<RestoreItem> items)
    {
        foreach (var name in items.Select(i => BackupSources.PoolOf(Connection, i.Destination)).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            using var pool = Connection.TryLookupStoragePoolByName(name);
            if (pool?.IsActive() == true)
            {
                pool.Refresh();
            }
        }
    }

    private static string Targets(IEnumerable<RestoreItem> items) => string.Join(", ", items.Select(i => $"{i.Disk.Entry.Target} → {i.Destination}"));

    /// <summary>The view of the VirtualMachinePool object a pool-kind backup operation runs on (null when that pool is not on this node).</summary>
    public JsonNode? PoolViewOf(RequestContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        using var pool = Connection.TryLookupStoragePoolByName(ctx.Name);
        return pool is null ? null : PoolView.Build(PoolSnapshot.Read(pool, refresh: pool.IsActive()), PoolLabels.Of(ctx.Object));
    }
}
