using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// deleteVMBackup (VirtualMachine): removes VM backup version <c>version</c> of this VM from pool <c>pool</c>'s backup
/// area; refused while another version is incremental on it (docs/backup.md).
/// </summary>
public sealed class DeleteVMBackupHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "deleteVMBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Deleting a backup of VM {context.Name}", Key, context.NodeName, async () =>
        {
            var p = context.Parameters;
            var pool = BackupNames.Parameter(p, "pool", Key);
            var version = BackupNames.Parameter(p, "version", Key);
            var store = new BackupStore(BackupSources.Layout(libvirt.Connection, pool, Key, context.NodeName), context.Name, null);
            var message = await BackupDeletion.DeleteAsync(store, version, context, cancellationToken).ConfigureAwait(false);
            using var domain = libvirt.Connection.TryLookupDomainByName(context.Name);
            return domain is null ? HandlerResult.Succeeded(message: message) : VmHost.Succeeded(domain, message);
        });
    }
}
