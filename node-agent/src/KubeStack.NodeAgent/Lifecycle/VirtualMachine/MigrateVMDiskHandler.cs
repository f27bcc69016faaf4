using System.Xml.Linq;
using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// migrateVMDisk: cold storage migration of a shut-off VM to the node whose service address is <c>ip</c>
/// (docs/migration.md). Each disk of <c>migratedisks</c> (<c>vol=PATH,pool=POOL;...</c>, a file disk of this VM) is
/// copied into pool POOL of the target node through libvirt's upload stream and read back there for a SHA-256 check;
/// only when every copy is verified does the VM move (virDomainMigrate3 with VIR_MIGRATE_OFFLINE|PERSIST_DEST|
/// UNDEFINE_SOURCE and a destination XML pointing at the copies); only then are the source volumes removed. A failure
/// before the switch deletes the copies this request made and leaves the VM as it was. After the switch the
/// VirtualMachineDisk objects of the moved volumes are handed over to the target node (<see cref="MigrationDiskObjects"/>),
/// also when a resumed attempt finds the switch already done.
/// </summary>
public sealed class MigrateVMDiskHandler(VmHost host, IMigrationTargets targets, MigrationDiskObjects? diskObjects = null) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "migrateVMDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Migrating the storage of VM {context.Name}", Key, context.NodeName,
            () => MigrateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> MigrateAsync(RequestContext ctx, CancellationToken ct)
    {
        var node = ctx.NodeName;
        var ip = StorageParameters.Required(ctx.Parameters, "ip", Key);
        var parsed = MigrateDisksFormat.Parse(StorageParameters.Required(ctx.Parameters, "migratedisks", Key));
        if (!parsed.IsValid)
        {
            throw new RequestParameterException("migratedisks", $"{Key}.migratedisks is invalid: {string.Join(" ", parsed.Errors)}");
        }

        var specs = parsed.Value!;
        var target = await MigrationSteps.RequireTargetAsync(targets, ip, Key, node, ct).ConfigureAwait(false);
        using var destination = await MigrationSteps.OpenTargetAsync(target, Key, node).ConfigureAwait(false);
        using var domain = host.TryLookup(ctx.Name);
        if (VmMigration.AlreadyOnTarget(ctx, domain, destination, target) is { } done)
        {
            if (domain is null && done is HandlerResult.Success success)
            {
                // resumed after the switch: the source volumes may still be there, the disk objects may not have followed yet
                var paths = specs.Select(s => SafePath.Resolve(s.Volume)).ToList();
                var pools = SourcePools(paths);
                RemoveSources(host.Connection, paths);
                var resumed = ResumedVolumes(destination, specs.Zip(paths, (s, p) => (p, s.Pool)), pools);
                var report = await HandOverDiskObjectsAsync(ctx, target, resumed, ct).ConfigureAwait(false);
                return report.Length == 0 ? done : success with { Message = success.Message + report };
            }

            return done;
        }

        var state = domain!.GetState().State;
        if (state != DomainState.Shutoff)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{Key} is a cold migration: VM {ctx.Name} on node {node} is {PowerStates.Of(state)}; stop it (stopVM) first. Nothing was changed.");
        }

        if (!domain.IsPersistent())
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"VM {ctx.Name} on node {node} is transient (no persistent definition); {Key} moves persistent VMs only. Nothing was changed.");
        }

        var xml = XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive | DomainXmlFlags.Migratable));
        var disks = FileDisks(xml);
        var plan = new List<(string Source, string Pool, XElement SourceElement)>();
        foreach (var spec in specs)
        {
            var path = SafePath.Resolve(spec.Volume);
            if (!disks.TryGetValue(path, out var element))
            {
                throw new RequestParameterException("migratedisks",
                    $"{Key}.migratedisks: {path} is not a file disk of VM {ctx.Name} (its file disks: {string.Join(", ", disks.Keys.Order(StringComparer.Ordinal))}).");
            }

            plan.Add((path, spec.Pool, element));
        }

        var copies = new List<(MigrationVolumes.VerifiedCopy Copy, LibvirtStoragePool Pool)>();
        var switched = false;
        try
        {
            foreach (var (source, poolName, element) in plan)
            {
                var pool = RequireTargetPool(destination, poolName, target);
                var copy = await Task.Run(() => MigrationVolumes.CopyAndVerify(source, pool, Path.GetFileName(source), target.NodeName, Key, ct), ct)
                    .ConfigureAwait(false);
                copies.Add((copy, pool));
                element.SetAttributeValue("file", copy.Path);
            }

            var sourcePools = SourcePools(plan.Select(p => p.Source));
            var newXml = xml.ToString(SaveOptions.DisableFormatting);
            using var migrated = await VmMigration.MigrateAsync(ctx, domain, destination, target,
                new DomainMigrateParameters { DestinationXml = newXml, PersistentXml = newXml },
                DomainMigrateFlags.Offline | DomainMigrateFlags.PersistDest | DomainMigrateFlags.UndefineSource).ConfigureAwait(false);
            switched = true;
            RemoveSources(host.Connection, plan.Select(p => p.Source));
            var volumes = plan.Zip(copies, (p, c) => CopiedVolume(p.Source, sourcePools.GetValueOrDefault(p.Source), c.Pool, c.Copy.Name)).ToList();
            var report = await HandOverDiskObjectsAsync(ctx, target, volumes, ct).ConfigureAwait(false);
            var moved = string.Join("; ", copies.Select(c => $"{c.Copy.Path} in pool {c.Pool.Name} ({c.Copy.Bytes} bytes, sha256 {c.Copy.Sha256[..12]}…)"));
            return VmMigration.Moved(migrated, target,
                $"VM {ctx.Name} and {copies.Count} disk(s) were migrated cold from node {node} to node {target.NodeName} ({target.Address}): {moved}. " +
                $"The source volumes were removed after the copies were verified.{report}");
        }
        finally
        {
            foreach (var (copy, pool) in copies)
            {
                if (!switched)
                {
                    DeleteCopy(pool, copy.Name);
                }

                pool.Dispose();
            }
        }
    }

    /// <summary>Hands the disk objects of the moved volumes over to the target node; the sentence to append to the result message.</summary>
    private async Task<string> HandOverDiskObjectsAsync(RequestContext ctx, MigrationTarget target, IReadOnlyList<MovedVolume> volumes, CancellationToken ct)
    {
        if (diskObjects is null || volumes.Count == 0)
        {
            return "";
        }

        var lines = await diskObjects.HandOverAsync(ctx.Namespace, ctx.Name, ctx.NodeName, target.NodeName, volumes, ct).ConfigureAwait(false);
        return lines.Count == 0 ? "" : $" Disk objects: {string.Join("; ", lines)}.";
    }

    /// <summary>The source pool of each path that is a volume of a pool on this node (before the sources are removed).</summary>
    private Dictionary<string, string> SourcePools(IEnumerable<string> paths)
    {
        var wanted = paths.ToHashSet(StringComparer.Ordinal);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pool in host.Connection.ListAllStoragePools(ListAllStoragePoolsFlags.Active))
        {
            using (pool)
            {
                foreach (var path in wanted.Where(p => !result.ContainsKey(p)).ToList())
                {
                    using var volume = pool.TryLookupStorageVolByName(Path.GetFileName(path));
                    if (volume is not null && volume.GetPath() == path)
                    {
                        result[path] = pool.Name;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>The moved volumes of a resumed attempt: the copies already in the target pools.</summary>
    private static List<MovedVolume> ResumedVolumes(LibvirtConnection destination, IEnumerable<(string Source, string Pool)> moves,
        Dictionary<string, string> sourcePools)
    {
        var result = new List<MovedVolume>();
        foreach (var (source, poolName) in moves)
        {
            using var pool = destination.TryLookupStoragePoolByName(poolName);
            if (pool is not null)
            {
                result.Add(CopiedVolume(source, sourcePools.GetValueOrDefault(source), pool, Path.GetFileName(source)));
            }
        }

        return result;
    }

    private static MovedVolume CopiedVolume(string source, string? sourcePool, LibvirtStoragePool pool, string name)
    {
        using var volume = pool.LookupStorageVolByName(name);
        var view = VirtualMachineDisk.MigrateDiskHandler.RemoteView(volume, new VirtualMachineDisk.DiskPlace(name, pool.Name, pool.Name, "localfs"));
        return new MovedVolume(source, sourcePool, name, view);
    }

    /// <summary>The VM's file disks (device disk), by their resolved source path.</summary>
    private static Dictionary<string, XElement> FileDisks(XDocument xml)
    {
        var result = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var disk in xml.Root?.Element("devices")?.Elements("disk") ?? [])
        {
            if ((string?)disk.Attribute("type") == "file" && (string?)disk.Attribute("device") is null or "disk"
                && disk.Element("source") is { } source && (string?)source.Attribute("file") is { Length: > 0 } file)
            {
                result[Path.GetFullPath(file)] = source;
            }
        }

        return result;
    }

    private LibvirtStoragePool RequireTargetPool(LibvirtConnection destination, string poolName, MigrationTarget target)
    {
        var pool = destination.TryLookupStoragePoolByName(poolName) ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"{Key}.migratedisks: storage pool {poolName} does not exist on target node {target.NodeName}; the target pool must be on the " +
            "target node (create it there with createPool). Nothing was changed.");
        if (!pool.IsActive())
        {
            pool.Dispose();
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key}.migratedisks: storage pool {poolName} on target node {target.NodeName} is not active; start it (startPool) first.");
        }

        return pool;
    }

    /// <summary>Removes the migrated source files: through libvirt when they are volumes of a pool, else directly.</summary>
    private static void RemoveSources(LibvirtConnection connection, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                using var volume = connection.LookupStorageVolByPath(path);
                volume.Delete();
            }
            catch (LibvirtException ex) when (ex.IsNoStorageVol || ex.IsNotFound)
            {
                File.Delete(path);
            }
        }
    }

    private static void DeleteCopy(LibvirtStoragePool pool, string name)
    {
        try
        {
            using var volume = pool.TryLookupStorageVolByName(name);
            volume?.Delete();
        }
        catch (LibvirtException)
        {
            // best effort after a failure: the failure's own message is what the user sees
        }
    }
}
