using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>The domain side of migrateVM and migrateVMDisk: probing both hosts, the libvirt call, the hand-over result.</summary>
public static class VmMigration
{
    /// <summary>Where QEMU sends the migration data: the target's own address (never its host name, which may not resolve here).</summary>
    public static string DataUri(MigrationTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.Address.Contains(':', StringComparison.Ordinal) ? $"tcp://[{target.Address}]" : $"tcp://{target.Address}";
    }

    /// <summary>
    /// Probes both hosts before acting. Returns the outcome when nothing is left to do: the domain is only on the target
    /// (a resumed attempt: success; a first attempt: the VM is missing here), or a different domain of that name is on
    /// the target (refused). Null means: migrate <paramref name="source"/>.
    /// </summary>
    public static HandlerResult? AlreadyOnTarget(RequestContext ctx, LibvirtDomain? source, LibvirtConnection destination, MigrationTarget target)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(target);
        using var onTarget = destination.TryLookupDomainByName(ctx.Name);
        if (source is null)
        {
            if (onTarget is not null && ctx.Attempt > 1)
            {
                return Moved(onTarget, target,
                    $"VM {ctx.Name} is on node {target.NodeName} (migrated from {ctx.NodeName} by an earlier attempt of this request).");
            }

            return VmHost.DomainMissing(ctx);
        }

        if (onTarget is not null)
        {
            var same = onTarget.Uuid == source.Uuid;
            return HandlerResult.Failed(same ? ErrorClasses.VirtletError : ErrorClasses.VirtctlError,
                same
                    ? $"VM {ctx.Name} is defined on both node {ctx.NodeName} and target node {target.NodeName} (uuid {source.Uuid}); " +
                      $"remove the copy that should not exist (virsh undefine on one node) and submit {ctx.Key} again."
                    : $"Target node {target.NodeName} already has a different domain named {ctx.Name} (uuid {onTarget.Uuid}); " +
                      $"VM {ctx.Name} stays on node {ctx.NodeName}. Nothing was changed.");
        }

        return null;
    }

    /// <summary>virDomainMigrate3 off the worker's thread; a refusal becomes a LibvirtError naming both nodes.</summary>
    public static async Task<LibvirtDomain> MigrateAsync(RequestContext ctx, LibvirtDomain source, LibvirtConnection destination,
        MigrationTarget target, DomainMigrateParameters parameters, DomainMigrateFlags flags)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            return await Task.Run(() => source.Migrate(destination, parameters, flags)).ConfigureAwait(false);
        }
        catch (LibvirtException ex)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Migrating VM {ctx.Name} from node {ctx.NodeName} to node {target.NodeName} ({target.LibvirtUri}) failed: libvirt says: " +
                $"{ex.LibvirtMessage} ({ex.Function}, error {ex.Code}). The VM stays on node {ctx.NodeName}.", ex.IsRetryable);
        }
    }

    /// <summary>Success read from the domain on the target, handing the object over to the target node.</summary>
    public static HandlerResult Moved(LibvirtDomain onTarget, MigrationTarget target, string message)
    {
        ArgumentNullException.ThrowIfNull(onTarget);
        ArgumentNullException.ThrowIfNull(target);
        var observed = VmHost.Observe(onTarget);
        return new HandlerResult.Success(observed.View, observed.PowerState, message, null) { MovedToNode = target.NodeName };
    }
}
