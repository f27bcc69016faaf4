using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>What deleteRemoteBackupServer removed from and kept on a server (labels are <c>&lt;domain&gt;/vm/&lt;version&gt;</c> or <c>&lt;domain&gt;/disks/&lt;vol&gt;/&lt;version&gt;</c>).</summary>
/// <param name="Removed">Complete versions this node made, removed.</param>
/// <param name="KeptOtherNodes">Complete versions another node made (manifest <c>node</c>), kept.</param>
/// <param name="KeptAsParents">Versions of this node kept because a kept version builds on them.</param>
/// <param name="KeptUnknown">Partial or damaged versions (no readable manifest: the node that wrote them is unknown), kept.</param>
public sealed record RemoteRetireReport(IReadOnlyList<string> Removed, IReadOnlyList<string> KeptOtherNodes, IReadOnlyList<string> KeptAsParents,
    IReadOnlyList<string> KeptUnknown)
{
    public int Kept => KeptOtherNodes.Count + KeptAsParents.Count + KeptUnknown.Count;
}

public sealed partial class RemoteBackupStore
{
    /// <summary>
    /// deleteRemoteBackupServer (docs/decisions.md <c>remote-backup-server</c>): removes from this FTP account only the
    /// complete backup versions whose manifest says <paramref name="node"/> made them, except those a kept version's chain
    /// needs; other nodes' (or other clusters') versions and partial versions of unknown origin stay. Directories left
    /// empty go, the area's root too when nothing is left. Idempotent: a second run removes nothing.
    /// </summary>
    public async Task<RemoteRetireReport> RetireNodeBackupsAsync(string node, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        var root = RemoteBackupLayout.Root;
        var domains = (await _ftp.RunAsync("LIST", (c, t) => c.ListAsync(root, t), cancellationToken).ConfigureAwait(false))
            .Where(e => e.Type == FtpEntryType.Directory && BackupNames.Problem(e.Name) is null).Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        List<string> removed = [], others = [], parents = [], unknown = [];
        foreach (var domain in domains)
        {
            var disks = await _ftp.RunAsync("LIST", (c, t) => c.ListAsync(RemoteBackupLayout.DisksRoot(domain), t), cancellationToken).ConfigureAwait(false);
            var scopes = new List<string?> { null };
            scopes.AddRange(disks.Where(e => e.Type == FtpEntryType.Directory && BackupNames.Problem(e.Name) is null).Select(e => (string?)e.Name));
            foreach (var scope in scopes)
            {
                var listed = await ListVersionsAsync(domain, scope, cancellationToken).ConfigureAwait(false);
                var plan = PlanRetire(listed, node);
                string Of(string version) => $"{domain}/{Label(scope, version)}";
                others.AddRange(plan.KeptOtherNodes.Select(Of));
                parents.AddRange(plan.KeptAsParents.Select(Of));
                unknown.AddRange(plan.KeptUnknown.Select(Of));
                foreach (var version in plan.Removed)
                {
                    await RemoveVersionAsync(RemoteBackupLayout.Version(domain, scope, version), cancellationToken).ConfigureAwait(false);
                    removed.Add(Of(version));
                }

                if (plan.Removed.Count > 0)
                {
                    await PruneAsync(domain, scope, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await _ftp.RunAsync("RMD", async (c, t) =>
        {
            if (await c.DirectoryExistsAsync(root, t).ConfigureAwait(false) && (await c.ListAsync(root, t).ConfigureAwait(false)).Count == 0)
            {
                await c.RemoveDirectoryAsync(root, t).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
        return new RemoteRetireReport(removed, others, parents, unknown);
    }

    /// <summary>
    /// Which versions of one scope (<c>vm/</c> or one <c>disks/&lt;vol&gt;/</c>) a retire of <paramref name="node"/> removes
    /// (pure): complete versions made by the node, minus every version a kept complete version's chain reaches.
    /// </summary>
    public static RemoteRetireReport PlanRetire(IReadOnlyList<RemoteVersion> versions, string node)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var mine = versions.Where(v => v.Manifest?.Node == node).Select(v => v.Version).ToHashSet(StringComparer.Ordinal);
        var needed = versions.Where(v => v.Manifest is not null && !mine.Contains(v.Version))
            .SelectMany(v => v.Manifest!.Disks.SelectMany(d => d.Chain.Skip(1))).ToHashSet(StringComparer.Ordinal);
        // a kept version of this node keeps its own parents too
        bool grew;
        do
        {
            grew = false;
            foreach (var v in versions.Where(v => v.Manifest is not null && mine.Contains(v.Version) && needed.Contains(v.Version)))
            {
                foreach (var parent in v.Manifest!.Disks.SelectMany(d => d.Chain.Skip(1)))
                {
                    grew |= needed.Add(parent);
                }
            }
        }
        while (grew);

        return new RemoteRetireReport(
            versions.Where(v => mine.Contains(v.Version) && !needed.Contains(v.Version)).Select(v => v.Version).ToList(),
            versions.Where(v => v.Manifest is not null && !mine.Contains(v.Version)).Select(v => v.Version).ToList(),
            versions.Where(v => mine.Contains(v.Version) && needed.Contains(v.Version)).Select(v => v.Version).ToList(),
            versions.Where(v => v.Manifest is null).Select(v => v.Problem is null ? v.Version : $"{v.Version} (damaged)").ToList());
    }
}
