using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// restoreVM: restores version <c>version</c> of this VM's backups in pool <c>pool</c> (docs/backup.md, Restore): the
/// system disk, or every disk with all=true (the backup's data disks must still be attached to the VM). Without
/// <c>newname</c> into this VM (shut off; redefined from the backup when its domain is gone), with it into a new,
/// shut-off VM whose disks go to pool <c>target</c>. Every checksum of the version's chain is verified and every fit
/// check made before anything is changed.
/// </summary>
public sealed class RestoreVMHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupVmSteps _steps = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachine;
    public string Key => "restoreVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Restoring VM {context.Name}", Key, context.NodeName, async () =>
        {
            var p = context.Parameters;
            var pool = BackupNames.Parameter(p, "pool", Key);
            var version = BackupNames.Parameter(p, "version", Key);
            var all = StorageParameters.Flag(p, "all", Key) ?? false;
            var newName = StorageParameters.Optional(p, "newname");
            var target = StorageParameters.Optional(p, "target");
            var message = await _steps.RestoreVmAsync(context.Name, pool, version, all, newName, target, context, cancellationToken).ConfigureAwait(false);
            if (newName is not null && newName != context.Name)
            {
                message += ResultObjects.ApplyHint(Kinds.VirtualMachine, newName, context.NodeName, " and no lifecycle request (the VM resync adopts the domain)");
            }

            using var domain = libvirt.Connection.TryLookupDomainByName(context.Name);
            return domain is null ? HandlerResult.Succeeded(message: message) : VmHost.Succeeded(domain, message);
        });
    }
}
