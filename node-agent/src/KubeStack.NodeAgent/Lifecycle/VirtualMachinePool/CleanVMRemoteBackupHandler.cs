using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// cleanVMRemoteBackup: removes the listed remote versions (or all of them) of VM <c>domain</c>'s backups (only disk
/// <c>vol</c>'s when given) and every partial remote version in that scope; reports what it found and removed.
/// </summary>
public sealed class CleanVMRemoteBackupHandler : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "cleanVMRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.CleanAsync(context, RemoteBackupRequests.DomainParameter, cancellationToken);
    }
}
