using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// cleanVMBackup: in pool <c>pool</c>'s backup area, removes the versions listed in <c>version</c> (comma-separated) or,
/// with all=true, every version of VM <c>domain</c>'s VM and disk backups (only disk <c>vol</c>'s when given), and every
/// incomplete version in that scope. Refused, with nothing removed, when a listed version does not exist or a kept
/// version is incremental on a removed one. The message tells what was found and what was removed.
/// </summary>
public sealed class CleanVMBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
    : PoolBackupHandler(libvirt, qemuImg, crash, "cleanVMBackup", "Cleaning backups")
{
    protected override async Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken)
    {
        var p = request.Parameters;
        var vol = BackupNames.OptionalParameter(p, "vol", Key);
        var all = StorageParameters.Flag(p, "all", Key) ?? false;
        var versions = (StorageParameters.Optional(p, "version") ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => BackupNames.Require(x, "version", Key)).ToHashSet(StringComparer.Ordinal);
        if (all == (versions.Count > 0))
        {
            throw new RequestParameterException("version", $"{Key} needs exactly one of version (a comma-separated list) and all=true.");
        }

        var results = await BackupDeletion.CleanAsync(Stores(request, vol), versions, all, request.Context, cancellationToken).ConfigureAwait(false);
        var found = results.Sum(r => r.Found.Count);
        var removed = results.SelectMany(r => r.Removed.Select(x => $"{r.Scope} {x}")).ToList();
        var scope = vol is null ? $"VM {request.Domain}" : $"disk {vol} of VM {request.Domain}";
        return $"Cleaned the backups of {scope} in pool {request.Pool} on node {request.Context.NodeName}: found {found} version(s) " +
            $"({string.Join("; ", results.Where(r => r.Found.Count > 0).Select(r => $"{r.Scope}: {string.Join(", ", r.Found)}"))}), " +
            $"removed {removed.Count}" + (removed.Count == 0 ? "." : $": {string.Join(", ", removed)}.");
    }
}
