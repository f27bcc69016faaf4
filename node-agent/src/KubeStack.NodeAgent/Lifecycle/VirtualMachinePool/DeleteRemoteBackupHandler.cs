using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// deleteRemoteBackup (pool kind): deletes the remote backup version <c>version</c> of VM <c>domain</c> (or of its disk
/// <c>vol</c>) from the FTP server named by the request.
/// </summary>
public sealed class DeleteRemoteBackupHandler : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "deleteRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.DeleteAsync(context, RemoteBackupRequests.DomainParameter, cancellationToken);
    }
}
