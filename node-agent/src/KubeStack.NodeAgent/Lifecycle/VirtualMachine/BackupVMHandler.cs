using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// backupVM: the VM's system disk (all=true: every disk) into <c>kubestack-backups/&lt;vm&gt;/vm/&lt;version&gt;/</c> of pool
/// <c>pool</c> (docs/backup.md). full=true makes a self-contained version; otherwise (the default) an incremental one on
/// the newest complete version, or a full one when there is none. A running VM is read through a libvirt push backup
/// job, a shut-off one from its files. The manifest is written last: an interrupted attempt's partial version is
/// replaced by the next attempt, and a resumed attempt that finds the version complete reports it.
/// </summary>
public sealed class BackupVMHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash) : ILifecycleHandler
{
    private readonly BackupVmSteps _steps = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachine;
    public string Key => "backupVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Backing up VM {context.Name}", Key, context.NodeName, async () =>
        {
            var p = context.Parameters;
            var pool = BackupNames.Parameter(p, "pool", Key);
            var version = BackupNames.Parameter(p, "version", Key);
            var full = StorageParameters.Flag(p, "full", Key) ?? false;
            var all = StorageParameters.Flag(p, "all", Key) ?? false;
            _ = RemoteBackupServer.Optional(p, Key); // the FTP parameters are checked before any work
            using var domain = libvirt.Connection.TryLookupDomainByName(context.Name);
            if (domain is null)
            {
                return VmHost.DomainMissing(context);
            }

            var (_, message) = await _steps.BackupVmAsync(domain, pool, version, full, all, context, cancellationToken).ConfigureAwait(false);
            var pushed = await RemoteBackupRequests.PushAfterBackupAsync(BackupSources.Layout(libvirt.Connection, pool, Key, context.NodeName), context,
                context.Name, null, version, cancellationToken).ConfigureAwait(false);
            return VmHost.Succeeded(domain, pushed is null ? message : $"{message} {pushed}");
        });
    }
}
