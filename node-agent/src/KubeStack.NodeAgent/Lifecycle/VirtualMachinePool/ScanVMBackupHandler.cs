using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// scanVMBackup: lists the backups of VM <c>domain</c> in pool <c>pool</c> (the VM backups and every disk's, or only disk
/// <c>vol</c>'s) with their state (complete, incomplete, damaged), mode and parent, in the result message. Changes nothing.
/// </summary>
public sealed class ScanVMBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash)
    : PoolBackupHandler(libvirt, qemuImg, crash, "scanVMBackup", "Scanning backups")
{
    /// <summary>At most this many versions are described in the message (the count is always given).</summary>
    public const int MaxListed = 50;

    protected override async Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken)
    {
        var vol = BackupNames.OptionalParameter(request.Parameters, "vol", Key);
        var found = new List<BackupVersionState>();
        foreach (var store in Stores(request, vol))
        {
            found.AddRange(await store.ListAsync(cancellationToken).ConfigureAwait(false));
        }

        return Describe(found, request.Domain, request.Pool, vol, request.Context.NodeName);
    }

    /// <summary>"Found N backup version(s) of VM d in pool p on node n: vm v1 (complete, full, 2026-...), disk x v2 (incomplete: ...)."</summary>
    public static string Describe(IReadOnlyList<BackupVersionState> found, string domain, string pool, string? vol, string node)
    {
        ArgumentNullException.ThrowIfNull(found);
        var scope = vol is null ? $"VM {domain}" : $"disk {vol} of VM {domain}";
        if (found.Count == 0)
        {
            return $"Found no backup of {scope} in pool {pool} on node {node}.";
        }

        var counts = string.Join(", ", found.GroupBy(f => f.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));
        var items = found.Take(MaxListed).Select(f => f.Manifest is { } m && f.IsComplete
            ? $"{f.Scope} {f.Version} (complete, {m.Mode}{(m.Parent is null ? string.Empty : $" on {m.Parent}")}, {m.Disks.Count} disk(s), {m.Created:u})"
            : $"{f.Scope} {f.Version} ({f.State}: {f.Problem})");
        var more = found.Count > MaxListed ? $" and {found.Count - MaxListed} more" : string.Empty;
        return $"Found {found.Count} backup version(s) of {scope} in pool {pool} on node {node} ({counts}): {string.Join("; ", items)}{more}.";
    }
}
