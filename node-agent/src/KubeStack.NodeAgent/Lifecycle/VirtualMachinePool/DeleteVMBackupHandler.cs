using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>deleteVMBackup (VirtualMachinePool): removes VM backup version <c>version</c> of VM <c>domain</c> from pool <c>pool</c>'s backup area; refused while another version is incremental on it.</summary>
public sealed class DeleteVMBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
    : PoolBackupHandler(libvirt, qemuImg, crash, "deleteVMBackup", "Deleting a VM backup")
{
    protected override Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken)
    {
        var version = BackupNames.Parameter(request.Parameters, "version", Key);
        return BackupDeletion.DeleteAsync(new BackupStore(Layout(request), request.Domain, null), version, request.Context, cancellationToken);
    }
}
