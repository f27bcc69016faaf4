using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>deleteVMDiskBackup: removes disk backup version <c>version</c> of disk <c>vol</c> of VM <c>domain</c> from pool <c>pool</c>'s backup area; refused while another version is incremental on it.</summary>
public sealed class DeleteVMDiskBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupVmSteps _steps = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "deleteVMDiskBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync("Deleting a disk backup", Key, context.NodeName, async () =>
        {
            var p = context.Parameters;
            var domain = BackupNames.Parameter(p, "domain", Key);
            var pool = BackupNames.Parameter(p, "pool", Key);
            var vol = BackupNames.Parameter(p, "vol", Key);
            var version = BackupNames.Parameter(p, "version", Key);
            var store = new BackupStore(BackupSources.Layout(libvirt.Connection, pool, Key, context.NodeName), domain, vol);
            var message = await BackupDeletion.DeleteAsync(store, version, context, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(_steps.PoolViewOf(context), message: message);
        });
    }
}
