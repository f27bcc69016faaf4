using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// deleteRemoteBackupServer: retires an FTP backup server for this node: removes the backup versions this node made
/// from that account and nothing else (docs/decisions.md <c>remote-backup-server</c>).
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
