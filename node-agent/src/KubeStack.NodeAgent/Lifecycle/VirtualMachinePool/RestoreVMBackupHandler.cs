using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// restoreVMBackup: restoreVM for the VM named by <c>domain</c>, run on a VirtualMachinePool (so the backups of a VM
/// whose object is gone can be restored): same rules (docs/backup.md, Restore). The result view is this pool's.
/// </summary>
public sealed class RestoreVMBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupVmSteps _steps = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "restoreVMBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync("Restoring a VM backup", Key, context.NodeName, async () =>
        {
            var p = context.Parameters;
            var domain = BackupNames.Parameter(p, "domain", Key);
            var pool = BackupNames.Parameter(p, "pool", Key);
            var version = BackupNames.Parameter(p, "version", Key);
            var all = StorageParameters.Flag(p, "all", Key) ?? false;
            var message = await _steps.RestoreVmAsync(domain, pool, version, all, StorageParameters.Optional(p, "newname"),
                StorageParameters.Optional(p, "target"), context, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(_steps.PoolViewOf(context), message: message);
        });
    }
}
