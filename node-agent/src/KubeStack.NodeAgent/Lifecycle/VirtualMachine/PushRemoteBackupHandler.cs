using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// pushRemoteBackup: uploads the local backup version <c>version</c> of this VM (or of its disk <c>vol</c>) from the
/// backup area of <c>pool</c> to the FTP server <c>remote</c>:<c>port</c>, with the parent versions an incremental version needs
/// (docs/backup.md, remote backups).
/// </summary>
public sealed class PushRemoteBackupHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "pushRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.PushAsync(libvirt, context, RemoteBackupRequests.ObjectDomain, cancellationToken);
    }
}
