using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// pullRemoteBackup (pool kind): downloads the remote backup version <c>version</c> of VM <c>domain</c> (or of its disk
/// <c>vol</c>) into the backup area of <c>pool</c>; the VM need not exist (its backups outlive it).
/// </summary>
public sealed class PullRemoteBackupHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "pullRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.PullAsync(libvirt, context, RemoteBackupRequests.DomainParameter, cancellationToken);
    }
}
