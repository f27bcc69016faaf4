using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// pushRemoteBackup (pool kind): uploads the local backup version <c>version</c> of VM <c>domain</c> (or of its disk
/// <c>vol</c>) from the backup area of <c>pool</c> to the FTP server, with the parent versions it needs.
/// </summary>
public sealed class PushRemoteBackupHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "pushRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.PushAsync(libvirt, context, RemoteBackupRequests.DomainParameter, cancellationToken);
    }
}
