using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// pullRemoteBackup: downloads the remote backup version <c>version</c> of this VM (or of its disk <c>vol</c>) into
/// the backup area of <c>pool</c>, with its parent versions; every data file is checked against the manifest's SHA-256.
/// </summary>
public sealed class PullRemoteBackupHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "pullRemoteBackup";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RemoteBackupRequests.PullAsync(libvirt, context, RemoteBackupRequests.ObjectDomain, cancellationToken);
    }
}
