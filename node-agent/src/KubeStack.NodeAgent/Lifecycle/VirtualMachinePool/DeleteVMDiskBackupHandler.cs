using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>deleteVMDiskBackup: removes disk backup version <c>version</c> of disk <c>vol</c> of VM <c>domain</c> from pool <c>pool</c>'s backup area; refused while another version is incremental on it.</summary>
public sealed class DeleteVMDiskBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
    : PoolBackupHandler(libvirt, qemuImg, crash, "deleteVMDiskBackup", "Deleting a disk backup")
{
    protected override Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken)
    {
        var vol = BackupNames.Parameter(request.Parameters, "vol", Key);
        var version = BackupNames.Parameter(request.Parameters, "version", Key);
        return BackupDeletion.DeleteAsync(new BackupStore(Layout(request), request.Domain, vol), version, request.Context, cancellationToken);
    }
}
