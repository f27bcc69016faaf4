using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Watch;

public sealed class VmStateWatcherOptions
{
    /// <summary>How often every VM of this node is compared with libvirt (catches lost events).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Delay before retrying to open the libvirt connection.</summary>
    public TimeSpan ConnectRetry { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Keeps the result views of this node's VMs true when the host changes behind Kubernetes' back (virsh start,
/// shutdown, destroy...). Domain lifecycle events from libvirt, and a periodic resync (also run after every libvirt
/// reconnect, since events of the gap are lost), lead to a refresh of that VM:
/// <list type="bullet">
/// <item>a VM with a request pending or running (spec.lifecycle present, or status.lifecycle Running) is left alone —
/// that request owns the views and writes them when it ends; the event was most likely its own effect;</item>
/// <item>otherwise the observed power state and spec.domain are compared with the object; when they differ,
/// status.powerState is written (status update that steps back if a request appeared), then spec.domain and
/// spec.powerstate in one merge patch conditional on that resourceVersion (a 409 re-reads and re-decides), then a
/// Warning Event with reason VirtletError says what changed.</item>
/// </list>
/// Refreshes run one at a time on this watcher's own loop; the conditional writes keep it from racing a request
/// that the runtime claims meanwhile.
/// </summary>
public sealed partial class VmStateWatcher
{
    private const int MaxPatchAttempts = 5;

    private readonly LibvirtHost _libvirt;
    private readonly IObjectApi _api;
    private readonly IEventRecorder _events;
    private readonly Func<IReadOnlyCollection<KubeStackResource>> _vms;
    private readonly string _node;
    private readonly VmStateWatcherOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<string?> _work = Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _reportedMissing = new(StringComparer.Ordinal);

    /// <param name="vms">This node's VirtualMachine objects (the informer cache): used to find the object of a domain.</param>
    public VmStateWatcher(LibvirtHost libvirt, IObjectApi api, IEventRecorder events, Func<IReadOnlyCollection<KubeStackResource>> vms,
        string nodeName, VmStateWatcherOptions options, ILogger<VmStateWatcher> logger)
    {
        _libvirt = libvirt ?? throw new ArgumentNullException(nameof(libvirt));
        _api = api ?? throw new ArgumentNullException(nameof(api));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _vms = vms ?? throw new ArgumentNullException(nameof(vms));
        ArgumentException.ThrowIfNullOrWhiteSpace(nodeName);
        _node = nodeName;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Number of views this watcher corrected (tests, metrics).</summary>
    public long Corrections => Interlocked.Read(ref _corrections);

    private long _corrections;

    /// <summary>Asks for a full resync now (e.g. after libvirt reconnected).</summary>
    public void RequestResync() => _work.Writer.TryWrite(null);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        using var subscription = connection.SubscribeLifecycleEvents();
        EventHandler<LibvirtReconnectedEventArgs> onReconnect = (_, _) => RequestResync();
        connection.Reconnected += onReconnect;
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var pump = PumpEventsAsync(subscription, stop.Token);
            var timer = ResyncTimerAsync(stop.Token);
            RequestResync();
            try
            {
                await foreach (var name in _work.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    await ProcessAsync(name, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(pump, timer).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        finally
        {
            connection.Reconnected -= onReconnect;
        }
    }

    private async Task<LibvirtConnection> ConnectAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return _libvirt.Connection;
            }
            catch (LibvirtException ex)
            {
                LogConnectFailed(ex.Message);
                await Task.Delay(_options.ConnectRetry, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task PumpEventsAsync(LifecycleSubscription subscription, CancellationToken ct)
    {
        try
        {
            await foreach (var evt in subscription.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (evt.Event is DomainLifecycleEventType.Started or DomainLifecycleEventType.Stopped or DomainLifecycleEventType.Suspended
                    or DomainLifecycleEventType.Resumed or DomainLifecycleEventType.Shutdown or DomainLifecycleEventType.Crashed
                    or DomainLifecycleEventType.PmSuspended or DomainLifecycleEventType.Defined or DomainLifecycleEventType.Undefined)
                {
                    _pendingCauses[evt.Name] = $"libvirt event {evt.Event} ({evt.DetailName})";
                    _work.Writer.TryWrite(evt.Name);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _pendingCauses = new(StringComparer.Ordinal);

    private async Task ResyncTimerAsync(CancellationToken ct)
    {
        try
        {
            using var timer = new PeriodicTimer(_options.ResyncPeriod);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                RequestResync();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task ProcessAsync(string? domainName, CancellationToken ct)
    {
        var targets = domainName is null
            ? _vms().ToList()
            : _vms().Where(o => o.Metadata.Name == domainName).ToList();
        var cause = domainName is not null && _pendingCauses.TryRemove(domainName, out var c) ? c : "found by the periodic resync";
        foreach (var obj in targets)
        {
            try
            {
                await RefreshAsync(obj, cause, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LibvirtException or KubeApiException or HttpRequestException or k8s.Autorest.HttpOperationException)
            {
                LogRefreshFailed(ex, obj.Metadata.Name);
            }
        }

        if (domainName is null)
        {
            Observability.AgentMetrics.ResyncCompleted("vm", DateTimeOffset.UtcNow);
        }
    }

    /// <summary>
    /// Compares one VM with libvirt and corrects its views when they differ and no request owns it. True when
    /// something was written.
    /// </summary>
    public async Task<bool> RefreshAsync(KubeStackResource cached, string cause, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(cached);
        var key = new ResourceKey(Kinds.VirtualMachine, cached.Metadata.NamespaceProperty ?? "default", cached.Metadata.Name);
        var current = await _api.GetAsync(key, ct).ConfigureAwait(false);
        if (current is null || current.Metadata.DeletionTimestamp is not null || IsBusy(current))
        {
            return false;
        }

        ObservedState? observed;
        using (var domain = _libvirt.Connection.TryLookupDomainByName(key.Name))
        {
            if (domain is not null && IsStartingUp(domain.GetState()))
            {
                // QEMU starts with its vCPUs paused and libvirt resumes them a moment later: a transient state, not a
                // change to report. The Resumed event (or the next resync) brings the settled state.
                return false;
            }

            observed = domain is null ? null : VmHost.Observe(domain);
        }

        if (observed is null)
        {
            await ReportMissingAsync(current, cause, ct).ConfigureAwait(false);
            return false;
        }

        _reportedMissing.Remove(current.Metadata.Uid ?? key.ToString());
        (observed, cause) = await RestartIfHighlyAvailableAsync(current, observed, cause, ct).ConfigureAwait(false);
        var oldPower = current.Spec.PowerState;
        var powerChanged = observed.PowerState != oldPower || observed.PowerState != current.Status?.PowerState;
        var viewChanged = !JsonNode.DeepEquals(observed.View, current.Spec.Domain);
        if (!powerChanged && !viewChanged)
        {
            return false;
        }

        var uid = current.Metadata.Uid;
        var update = await _api.UpdateStatusAsync(key, latest =>
        {
            if (latest.Metadata.Uid != uid || IsBusy(latest) || latest.Metadata.DeletionTimestamp is not null)
            {
                return false;
            }

            (latest.Status ??= new KubeStackStatus()).PowerState = observed.PowerState;
            return true;
        }, current, ct).ConfigureAwait(false);
        if (update.Object is not { } written || !update.Written)
        {
            return false;
        }

        var latestObj = written;
        for (var attempt = 1; ; attempt++)
        {
            var before = JsonNode.Parse(KubernetesJson.Serialize(latestObj.Spec)) as JsonObject ?? [];
            var after = (JsonObject)before.DeepClone();
            after["domain"] = observed.View?.DeepClone();
            after["powerstate"] = observed.PowerState;
            var patch = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = latestObj.Metadata.ResourceVersion } };
            if (JsonMergePatch.CreateDiff(before, after) is { } diff)
            {
                patch["spec"] = diff;
            }

            try
            {
                latestObj = await _api.PatchAsync(key, patch, ct).ConfigureAwait(false);
                break;
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < MaxPatchAttempts)
            {
                var again = await _api.GetAsync(key, ct).ConfigureAwait(false);
                if (again is null || again.Metadata.Uid != uid || IsBusy(again))
                {
                    return true;
                }

                latestObj = again;
            }
        }

        Interlocked.Increment(ref _corrections);
        var what = powerChanged
            ? $"its power state changed from {oldPower ?? "(none)"} to {observed.PowerState}"
            : "its domain definition changed";
        var message = $"VM {key.Name} was changed on node {_node} outside KubeStack: {what} ({cause}). spec.domain, spec.powerstate and " +
            "status.powerState now show what libvirt reports.";
        LogCorrected(key.Name, oldPower, observed.PowerState, cause);
        await _events.RecordAsync(latestObj, EventTypes.Warning, ErrorClasses.VirtletError, message, ct).ConfigureAwait(false);
        return true;
    }

    private async Task ReportMissingAsync(KubeStackResource current, string cause, CancellationToken ct)
    {
        // A VM that never had a domain (its create failed) has no views: nothing is missing.
        if (current.Spec.Domain is null && current.Spec.PowerState is null)
        {
            return;
        }

        if (!_reportedMissing.Add(current.Metadata.Uid ?? current.Metadata.Name))
        {
            return;
        }

        await _events.RecordAsync(current, EventTypes.Warning, ErrorClasses.VirtletError,
            $"VM {current.Metadata.Name} has no libvirt domain on node {_node} any more: it was undefined outside KubeStack ({cause}). " +
            "The views keep the last state seen; delete the object or create the VM again.", ct).ConfigureAwait(false);
    }

    private static bool IsBusy(KubeStackResource obj) =>
        obj.Spec.Lifecycle is not null || obj.Status?.Lifecycle?.Phase == RequestPhase.Running;

    /// <summary>Paused with reason VIR_DOMAIN_PAUSED_STARTING_UP (11): the domain is being started.</summary>
    private static bool IsStartingUp(DomainStateInfo state) => state.State == DomainState.Paused && state.Reason == 11;

    [LoggerMessage(Level = LogLevel.Warning, Message = "The VM watcher cannot reach libvirt yet: {Reason}; retrying.")]
    private partial void LogConnectFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the views of VM {Name} failed; the next event or resync tries again.")]
    private partial void LogRefreshFailed(Exception exception, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "VM {Name} changed outside KubeStack: {Old} -> {New} ({Cause}); views corrected.")]
    private partial void LogCorrected(string name, string? old, string? @new, string cause);
}
