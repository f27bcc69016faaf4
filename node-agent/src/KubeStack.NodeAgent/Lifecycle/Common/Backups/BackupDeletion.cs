using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>deleteVMBackup, deleteVMDiskBackup and cleanVMBackup: removal of versions, refused while a kept version depends on one.</summary>
public static class BackupDeletion
{
    /// <summary>Removes one version; returns the sentence for the result.</summary>
    public static async Task<string> DeleteAsync(BackupStore store, string version, RequestContext ctx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(ctx);
        var all = await store.ListAsync(ct).ConfigureAwait(false);
        if (all.All(v => v.Version != version))
        {
            if (ctx.Attempt > 1)
            {
                return $"The {store.Scope} backup version {version} of {store.Domain} is gone from node {ctx.NodeName} (removed by the interrupted attempt).";
            }

            throw BackupStore.Refused($"{ctx.Key} is refused on node {ctx.NodeName}: there is no {store.Scope} backup version {version} of {store.Domain} " +
                $"in {store.Root}. Nothing was removed.");
        }

        var dependants = BackupStore.DependantsOf(all, version);
        if (dependants.Count > 0)
        {
            throw BackupStore.Refused($"{ctx.Key} is refused on node {ctx.NodeName}: the {store.Scope} backup versions {string.Join(", ", dependants)} of " +
                $"{store.Domain} are incremental on version {version}. Delete them first (or clean with all=true). Nothing was removed.");
        }

        store.Remove(version);
        return $"The {store.Scope} backup version {version} of {store.Domain} was removed from {store.Root} on node {ctx.NodeName}.";
    }

    /// <summary>What a clean found and removed in one scope.</summary>
    public sealed record CleanResult(string Scope, IReadOnlyList<string> Found, IReadOnlyList<string> Removed);

    /// <summary>
    /// cleanVMBackup in the given stores: removes all versions (<paramref name="all"/>) or the listed ones, and every incomplete
    /// version. All checks happen first: a listed version missing everywhere, or one a kept version depends on, is refused
    /// and nothing is removed.
    /// </summary>
    public static async Task<IReadOnlyList<CleanResult>> CleanAsync(IReadOnlyList<BackupStore> stores, IReadOnlySet<string> versions, bool all,
        RequestContext ctx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(versions);
        ArgumentNullException.ThrowIfNull(ctx);
        var plan = new List<(BackupStore Store, IReadOnlyList<BackupVersionState> Found, List<string> Remove)>();
        foreach (var store in stores)
        {
            var found = await store.ListAsync(ct).ConfigureAwait(false);
            var remove = found.Where(v => all || versions.Contains(v.Version) || v.State == BackupVersionState.Incomplete).Select(v => v.Version).ToList();
            foreach (var version in remove)
            {
                var kept = found.Where(v => !remove.Contains(v.Version)).ToList();
                var dependants = BackupStore.DependantsOf(kept, version);
                if (dependants.Count > 0)
                {
                    throw BackupStore.Refused($"{ctx.Key} is refused on node {ctx.NodeName}: the {store.Scope} backup versions {string.Join(", ", dependants)} " +
                        $"of {store.Domain} are incremental on version {version}, which the request removes. List them too or use all=true. Nothing was removed.");
                }
            }

            plan.Add((store, found, remove));
        }

        if (!all && ctx.Attempt == 1)
        {
            var unknown = versions.Where(v => plan.All(p => p.Found.All(f => f.Version != v))).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                throw BackupStore.Refused($"{ctx.Key} is refused on node {ctx.NodeName}: no backup version {string.Join(", ", unknown)} of " +
                    $"{stores.FirstOrDefault()?.Domain} exists in the scope of the request. Nothing was removed.");
            }
        }

        var results = new List<CleanResult>();
        foreach (var (store, found, remove) in plan)
        {
            foreach (var version in remove)
            {
                store.Remove(version);
            }

            store.RemoveEmptyParents();
            results.Add(new CleanResult(store.Scope, [.. found.Select(f => $"{f.Version} ({f.State})")], remove));
        }

        return results;
    }
}
