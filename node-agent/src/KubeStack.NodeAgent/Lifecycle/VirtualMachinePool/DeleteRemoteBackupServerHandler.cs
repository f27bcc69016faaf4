using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// deleteRemoteBackupServer: retires an FTP backup server: removes the KubeStack backup area (every VM's remote
/// backups) from that account, nothing else (docs/decisions.md <c>remote-backup-server</c>).
/// </summary>
public sealed class DeleteRemoteBackupServerHandler : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "deleteRemoteBackupServer";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.DeleteServerAsync(context, cancellationToken);
    }
}
