using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Hosting;

/// <summary>
/// Runs <c>leaderWork</c> only while this replica holds the coordination.k8s.io/v1 Lease, with client-go's rules: a
/// candidate takes the Lease when its holder has not changed it for leaseDurationSeconds (measured on the candidate's
/// own clock from when it saw the last change), the holder renews every RetryPeriod, and a holder that could not renew
/// within RenewDeadline of its last successful renewal (timed from when that renewal was sent) stops the work and
/// campaigns again. Since RenewDeadline &lt; LeaseDuration, a leader that cannot reach the API server has stopped before
/// any other replica can take the Lease. One attempt at a time: every read/write is bounded by a timeout and each write
/// is conditional on the resourceVersion read by the same attempt, so a slow or paused API server cannot pile up
/// attempts that later decide on one read and write over another (KubernetesClient's LeaderElector did: decision
/// lease-election in docs/decisions.md). A replica that stops renewing is replaced within LeaseDuration + RetryPeriod.
/// </summary>
public sealed class LeaderGate
{
    private readonly IKubernetes _client;
    private readonly OperatorOptions _options;
    private readonly ILogger _logger;
    private volatile bool _leading;
    private string? _observedVersion;
    private long _observedAt;
    private string? _observedHolder;

    public LeaderGate(IKubernetes client, OperatorOptions options, ILogger<LeaderGate> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
    }

    public bool IsLeader => _leading;

    /// <summary>Raised when this replica becomes leader (for tests and metrics).</summary>
    public event Action? StartedLeading;

    /// <summary>Raised when this replica stops leading (Lease not renewed in time or taken, controller ended, or stopping); the controller is cancelled.</summary>
    public event Action? StoppedLeading;

    private int LeaseSeconds => Math.Max(1, (int)Math.Ceiling(_options.LeaseDuration.TotalSeconds));

    public async Task RunAsync(Func<CancellationToken, Task> leaderWork, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leaderWork);
        await EnsureNamespaceAsync(cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var renewedAt = await AcquireAsync(cancellationToken).ConfigureAwait(false);
                await LeadAsync(leaderWork, renewedAt, cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.RetryPeriod, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Leader election failed; campaigning again.");
                await Task.Delay(_options.RetryPeriod, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Campaigns until this replica holds the Lease; returns when the successful attempt started (Stopwatch ticks).</summary>
    private async Task<long> AcquireAsync(CancellationToken ct)
    {
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            if (await TryAcquireOrRenewAsync(_options.RenewDeadline, ct).ConfigureAwait(false) == Attempt.Holding)
            {
                return started;
            }

            // RetryPeriod plus up to 20 % jitter, so that replicas started together do not keep colliding
            await Task.Delay(_options.RetryPeriod * (1 + (0.2 * Random.Shared.NextDouble())), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Runs the work and renews the Lease until a renewal misses its deadline, the work ends, or the replica stops.</summary>
    private async Task LeadAsync(Func<CancellationToken, Task> leaderWork, long renewedAt, CancellationToken ct)
    {
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _leading = true;
        _logger.LogInformation("{Identity} is the leader (Lease {Namespace}/{Lease}); starting the controller.", _options.Identity, _options.LeaderNamespace, _options.LeaderLease);
        StartedLeading?.Invoke();
        var work = Task.Run(() => leaderWork(leading.Token), CancellationToken.None);
        try
        {
            while (await RenewAsync(renewedAt, work, ct).ConfigureAwait(false) is { } renewed)
            {
                renewedAt = renewed;
            }
        }
        finally
        {
            var workEnded = work.IsCompleted && !ct.IsCancellationRequested;
            _leading = false;
            await leading.CancelAsync().ConfigureAwait(false);
            StoppedLeading?.Invoke();
            if (workEnded)
            {
                _logger.LogWarning("The controller of {Identity} ended while leading; stepping down.", _options.Identity);
            }
            else if (!ct.IsCancellationRequested)
            {
                _logger.LogWarning("{Identity} lost the leader Lease (not renewed within {Deadline}s, or taken by another replica); stopping the controller.",
                    _options.Identity, _options.RenewDeadline.TotalSeconds);
            }

            try
            {
                await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "The controller of {Identity} failed; campaigning again.", _options.Identity);
            }
        }
    }

    /// <summary>
    /// Waits RetryPeriod, then renews, retrying until the deadline (the last renewal's start + RenewDeadline). Returns the
    /// new renewal's start, or null when the deadline passed, the work ended or the replica stops.
    /// </summary>
    private async Task<long?> RenewAsync(long renewedAt, Task work, CancellationToken ct)
    {
        var deadline = renewedAt + (long)(_options.RenewDeadline.TotalSeconds * Stopwatch.Frequency);
        var wait = _options.RetryPeriod;
        while (true)
        {
            var remaining = Remaining(deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }

            await Task.WhenAny(work, Task.Delay(wait < remaining ? wait : remaining, ct)).ConfigureAwait(false);
            remaining = Remaining(deadline);
            if (work.IsCompleted || ct.IsCancellationRequested || remaining <= TimeSpan.Zero)
            {
                return null;
            }

            var started = Stopwatch.GetTimestamp();
            switch (await TryAcquireOrRenewAsync(remaining, ct).ConfigureAwait(false))
            {
                case Attempt.Holding:
                    return started;
                case Attempt.HeldByOther:
                    return null; // another replica has it: stop at once rather than at the deadline
                default:
                    wait = _options.RetryPeriod;
                    break;
            }
        }
    }

    private static TimeSpan Remaining(long deadline) => TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);

    private enum Attempt
    {
        Failed,
        HeldByOther,
        Holding,
    }

    /// <summary>One attempt, bounded by <paramref name="timeout"/>: read the Lease, then create, take over or renew it, conditional on that read.</summary>
    private async Task<Attempt> TryAcquireOrRenewAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        try
        {
            V1Lease? lease = null;
            try
            {
                lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_options.LeaderLease, _options.LeaderNamespace, cancellationToken: attempt.Token)
                    .ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.NotFound)
            {
            }

            var now = DateTime.UtcNow;
            if (lease is null)
            {
                var created = await _client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
                {
                    Metadata = new V1ObjectMeta { Name = _options.LeaderLease, NamespaceProperty = _options.LeaderNamespace },
                    Spec = new V1LeaseSpec { HolderIdentity = _options.Identity, LeaseDurationSeconds = LeaseSeconds, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
                }, _options.LeaderNamespace, cancellationToken: attempt.Token).ConfigureAwait(false);
                Observe(created);
                return Attempt.Holding;
            }

            Observe(lease);
            var spec = lease.Spec ?? new V1LeaseSpec();
            var mine = spec.HolderIdentity == _options.Identity;
            var heldFor = TimeSpan.FromSeconds(spec.LeaseDurationSeconds ?? LeaseSeconds);
            if (!mine && !string.IsNullOrEmpty(spec.HolderIdentity) && Stopwatch.GetElapsedTime(_observedAt) < heldFor)
            {
                return Attempt.HeldByOther; // another replica holds it and has renewed it within its lease duration (as seen from here)
            }

            lease.Spec = new V1LeaseSpec
            {
                HolderIdentity = _options.Identity,
                LeaseDurationSeconds = LeaseSeconds,
                AcquireTime = mine ? spec.AcquireTime ?? now : now,
                RenewTime = now,
                LeaseTransitions = mine ? spec.LeaseTransitions ?? 0 : (spec.LeaseTransitions ?? 0) + 1,
            };
            var written = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, _options.LeaderLease, _options.LeaderNamespace, cancellationToken: attempt.Token)
                .ConfigureAwait(false);
            Observe(written);
            return Attempt.Holding;
        }
        catch (HttpOperationException ex) when (ex.Response?.StatusCode is HttpStatusCode.Conflict)
        {
            return Attempt.Failed; // another replica wrote the Lease since this attempt read it
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _logger.LogDebug("A leader Lease attempt of {Identity} took longer than {Timeout}s.", _options.Identity, timeout.TotalSeconds);
            return Attempt.Failed;
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            _logger.LogWarning("A leader Lease attempt of {Identity} failed: {Error}", _options.Identity, ex.Message);
            return Attempt.Failed;
        }
    }

    /// <summary>Remembers when this replica first saw the current version of the Lease (expiry is measured from then, on this clock).</summary>
    private void Observe(V1Lease lease)
    {
        var version = lease.Metadata?.ResourceVersion;
        if (version == _observedVersion)
        {
            return;
        }

        _observedVersion = version;
        _observedAt = Stopwatch.GetTimestamp();
        var holder = lease.Spec?.HolderIdentity;
        if (holder != _observedHolder)
        {
            _observedHolder = holder;
            _logger.LogInformation("The leader is {Leader}.", holder);
        }
    }

    private async Task EnsureNamespaceAsync(CancellationToken ct)
    {
        try
        {
            await _client.CoreV1.ReadNamespaceAsync(_options.LeaderNamespace, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"The leader Lease namespace {_options.LeaderNamespace} does not exist (--leader-namespace / POD_NAMESPACE).", ex);
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            // No permission to read namespaces: the Lease calls report real problems themselves.
        }
    }
}
