using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Watch;

/// <summary>
/// The periodic storage resync: every <c>period</c>, each VirtualMachinePool object of this node whose pool was registered
/// (spec.pool written by createPool/showPool) is compared with what libvirt lists on disk now (the pool refreshed first).
/// When they differ and no request owns the object, spec.pool is rewritten (one merge patch conditional on the
/// resourceVersion; a 409 re-reads and re-decides) so its volumes and unregistered files are what is really there, and
/// when the host changed (volumes appeared or disappeared, the state changed, the pool is gone) a Warning Event with
/// reason VirtletError says what. A change of registration alone (an object came or went) updates the view silently.
/// The sizes (capacity, allocation, free) move all the time and are not a reason to write: they are refreshed together
/// with any other change, and by showPool.
/// </summary>
public sealed partial class StoragePoolWatcher(LibvirtHost libvirt, IObjectApi api, IEventRecorder events, StorageInventory inventory,
    string nodeName, TimeSpan period, ILogger<StoragePoolWatcher> logger)
{
    private const int MaxPatchAttempts = 5;
    private readonly HashSet<string> _reportedMissing = new(StringComparer.Ordinal);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var pool in inventory.Of(Kinds.VirtualMachinePool))
                {
                    try
                    {
                        await RefreshAsync(pool, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is LibvirtException or KubeApiException or HttpRequestException or k8s.Autorest.HttpOperationException)
                    {
                        LogRefreshFailed(ex, pool.Metadata.Name);
                    }
                }

                Observability.AgentMetrics.ResyncCompleted("storage", DateTimeOffset.UtcNow);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Compares one pool object with libvirt and corrects spec.pool when it differs; true when something was written.</summary>
    public async Task<bool> RefreshAsync(KubeStackResource cached, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(cached);
        var key = new ResourceKey(Kinds.VirtualMachinePool, cached.Metadata.NamespaceProperty ?? "default", cached.Metadata.Name);
        var current = await api.GetAsync(key, ct).ConfigureAwait(false);
        if (current is null || current.Metadata.DeletionTimestamp is not null || IsBusy(current) || current.Spec.Pool is null)
        {
            return false;
        }

        JsonObject observed;
        using (var pool = libvirt.Connection.TryLookupStoragePoolByName(key.Name))
        {
            if (pool is null)
            {
                if (_reportedMissing.Add(current.Metadata.Uid ?? key.Name))
                {
                    await events.RecordAsync(current, EventTypes.Warning, ErrorClasses.VirtletError,
                        $"Storage pool {key.Name} is not defined on node {nodeName} any more: it was removed outside KubeStack (found by the storage resync). " +
                        "spec.pool keeps the last state seen; create the pool again or delete the object.", ct).ConfigureAwait(false);
                }

                return false;
            }

            _reportedMissing.Remove(current.Metadata.Uid ?? key.Name);
            var snapshot = PoolSnapshot.Read(pool);
            observed = PoolDrift.WithRegistration(PoolView.Build(snapshot, PoolLabels.Of(current)),
                PoolDrift.Unregistered(key.Name, snapshot.TargetPath, snapshot.Volumes, inventory));
        }

        if (JsonNode.DeepEquals(PoolDrift.WithoutSizes(observed), PoolDrift.WithoutSizes(current.Spec.Pool)))
        {
            return false;
        }

        var drift = PoolDrift.Describe(current.Spec.Pool, observed);
        var latest = current;
        for (var attempt = 1; ; attempt++)
        {
            var before = JsonNode.Parse(KubernetesJson.Serialize(latest.Spec)) as JsonObject ?? [];
            var after = (JsonObject)before.DeepClone();
            after["pool"] = observed.DeepClone();
            var patch = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = latest.Metadata.ResourceVersion } };
            if (JsonMergePatch.CreateDiff(before, after) is { } diff)
            {
                patch["spec"] = diff;
            }

            try
            {
                latest = await api.PatchAsync(key, patch, ct).ConfigureAwait(false);
                break;
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < MaxPatchAttempts)
            {
                var again = await api.GetAsync(key, ct).ConfigureAwait(false);
                if (again is null || again.Metadata.Uid != current.Metadata.Uid || IsBusy(again))
                {
                    return false;
                }

                latest = again;
            }
        }

        if (drift is not null)
        {
            LogDrift(key.Name, drift);
            await events.RecordAsync(latest, EventTypes.Warning, ErrorClasses.VirtletError,
                $"Storage pool {key.Name} on node {nodeName} changed outside KubeStack: {drift} (found by the storage resync). spec.pool now shows what is on disk.",
                ct).ConfigureAwait(false);
        }

        return true;
    }

    private static bool IsBusy(KubeStackResource obj) =>
        obj.Spec.Lifecycle is not null || obj.Status?.Lifecycle?.Phase == RequestPhase.Running;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the view of storage pool {Name} failed; the next resync tries again.")]
    private partial void LogRefreshFailed(Exception exception, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage pool {Name} changed outside KubeStack: {Drift}; view corrected.")]
    private partial void LogDrift(string name, string drift);
}

/// <summary>Runs the <see cref="StoragePoolWatcher"/> for the agent's lifetime.</summary>
public sealed class StoragePoolWatcherService(StoragePoolWatcher watcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => watcher.RunAsync(stoppingToken);
}
