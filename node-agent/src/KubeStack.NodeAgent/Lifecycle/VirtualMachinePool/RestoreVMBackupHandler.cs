using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// restoreVMBackup: restoreVM for the VM named by <c>domain</c>, run on a VirtualMachinePool (so the backups of a VM
/// whose object is gone can be restored): same rules (docs/backup.md, Restore). The result view is this pool's.
/// </summary>
public sealed class RestoreVMBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
    : PoolBackupHandler(libvirt, qemuImg, crash, "restoreVMBackup", "Restoring a VM backup")
{
    protected override Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken)
    {
        var p = request.Parameters;
        var version = BackupNames.Parameter(p, "version", Key);
        var all = StorageParameters.Flag(p, "all", Key) ?? false;
        return Steps.RestoreVmAsync(request.Domain, request.Pool, version, all, StorageParameters.Optional(p, "newname"),
            StorageParameters.Optional(p, "target"), request.Context, cancellationToken);
    }
}
