using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// migrateVM: moves the VM to the node whose service address is <c>ip</c> (docs/migration.md). A running or paused VM
/// migrates live (virDomainMigrate3, VIR_MIGRATE_LIVE|PERSIST_DEST|UNDEFINE_SOURCE, data over TCP to the target's
/// address: the guest keeps running on the target); a shut-off VM needs <c>offline=true</c> and only its persistent
/// definition moves (VIR_MIGRATE_OFFLINE). The disks stay where they are: the catalog requires storage both hosts
/// share. Afterwards the source has no domain and the object belongs to the target node's agent (label host,
/// spec.nodeName, status.nodeName). libvirt rolls a failed migration back: the VM stays on the source, nothing is left
/// on the target.
/// </summary>
public sealed class MigrateVMHandler(VmHost host, IMigrationTargets targets) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "migrateVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Migrating VM {context.Name}", Key, context.NodeName, () => MigrateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> MigrateAsync(RequestContext ctx, CancellationToken ct)
    {
        var ip = StorageParameters.Required(ctx.Parameters, "ip", Key);
        var offline = StorageParameters.Flag(ctx.Parameters, "offline", Key) ?? false;
        var target = await MigrationSteps.RequireTargetAsync(targets, ip, Key, ctx.NodeName, ct).ConfigureAwait(false);
        using var destination = await MigrationSteps.OpenTargetAsync(target, Key, ctx.NodeName).ConfigureAwait(false);
        using var domain = host.TryLookup(ctx.Name);
        if (VmMigration.AlreadyOnTarget(ctx, domain, destination, target) is { } done)
        {
            return done;
        }

        var state = domain!.GetState().State;
        DomainMigrateFlags flags;
        string mode;
        if (PowerStates.IsRunning(state) || state == DomainState.Paused)
        {
            if (offline)
            {
                return HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"{Key}.offline=true migrates a shut-off VM, but VM {ctx.Name} on node {ctx.NodeName} is {PowerStates.Of(state)}; " +
                    "omit offline to migrate it live, or stop it first. Nothing was changed.");
            }

            flags = DomainMigrateFlags.Live | DomainMigrateFlags.PersistDest | DomainMigrateFlags.UndefineSource | DomainMigrateFlags.AbortOnError;
            if (host.Options.MigrationAllowUnsafe)
            {
                flags |= DomainMigrateFlags.Unsafe;
            }

            mode = "live";
        }
        else if (state == DomainState.Shutoff)
        {
            if (!offline)
            {
                return HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"VM {ctx.Name} on node {ctx.NodeName} is shut off: {Key} needs offline=true to migrate a shut-off VM " +
                    "(the catalog: \"required when shut down\"). Nothing was changed.");
            }

            flags = DomainMigrateFlags.Offline | DomainMigrateFlags.PersistDest | DomainMigrateFlags.UndefineSource;
            mode = "offline";
        }
        else
        {
            return VmHost.WrongState(ctx, state, "only a running, paused or shut-off VM can be migrated.");
        }

        var parameters = new DomainMigrateParameters { MigrateUri = mode == "live" ? VmMigration.DataUri(target) : null };
        using var migrated = await VmMigration.MigrateAsync(ctx, domain, destination, target, parameters, flags).ConfigureAwait(false);
        return VmMigration.Moved(migrated, target,
            $"VM {ctx.Name} was migrated {mode} from node {ctx.NodeName} to node {target.NodeName} ({target.Address}); " +
            $"it is {VmHost.Observe(migrated).PowerState} there and no longer defined on {ctx.NodeName}.");
    }
}
