using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Runtime.Queue;

/// <summary>
/// A keyed, rate-limited work queue with client-go's guarantees:
/// <list type="bullet">
/// <item>a key is handed to at most one worker at a time;</item>
/// <item>adding a key that is already waiting is a no-op (the key is processed once for both adds);</item>
/// <item>adding a key that is being processed marks it dirty: it is processed again after the current run ends;</item>
/// <item>different keys are processed in parallel, bounded by the number of workers;</item>
/// <item>a key that fails is re-added after a per-key exponential backoff (<see cref="AddRateLimited"/>),
/// reset by <see cref="Forget"/>.</item>
/// </list>
/// Nothing here knows what a key means; the caller's process function does the work.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable where TKey : notnull
{
    private readonly object _gate = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, long> _enqueuedAt = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, (DateTimeOffset Due, ITimer Timer)> _waiting = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly WorkQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _queueTag;
    private bool _shuttingDown;

    public WorkQueue(WorkQueueOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _options = options ?? new WorkQueueOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _queueTag = new KeyValuePair<string, object?>("queue", _options.Name);
    }

    public string Name => _options.Name;

    /// <summary>Keys ready to be handed to a worker (not counting keys being processed or waiting for a delay).</summary>
    public int Depth
    {
        get { lock (_gate) { return _queue.Count; } }
    }

    /// <summary>Keys currently handed to a worker.</summary>
    public int InFlight
    {
        get { lock (_gate) { return _processing.Count; } }
    }

    /// <summary>Keys waiting for a delayed or rate-limited add to come due.</summary>
    public int Waiting
    {
        get { lock (_gate) { return _waiting.Count; } }
    }

    public bool IsShuttingDown
    {
        get { lock (_gate) { return _shuttingDown; } }
    }

    /// <summary>Makes <paramref name="key"/> ready for processing.</summary>
    public void Add(TKey key)
    {
        var signal = false;
        lock (_gate)
        {
            if (_shuttingDown || !_dirty.Add(key))
            {
                return;
            }

            CancelWaitingLocked(key);
            QueueMetrics.Adds.Add(1, _queueTag);
            if (!_processing.Contains(key))
            {
                EnqueueLocked(key);
                signal = true;
            }
        }

        if (signal)
        {
            _available.Release();
        }
    }

    /// <summary>Adds <paramref name="key"/> after <paramref name="delay"/>; an earlier pending add for the same key wins.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (_gate)
        {
            if (_shuttingDown || _dirty.Contains(key))
            {
                // Already due now: the sooner add wins.
                return;
            }

            var due = _time.GetUtcNow() + delay;
            if (_waiting.TryGetValue(key, out var existing))
            {
                if (existing.Due <= due)
                {
                    return;
                }

                existing.Timer.Dispose();
            }

            var timer = _time.CreateTimer(static state =>
            {
                var (queue, k) = ((WorkQueue<TKey>, TKey))state!;
                queue.OnTimerDue(k);
            }, (this, key), delay, Timeout.InfiniteTimeSpan);
            _waiting[key] = (due, timer);
        }
    }

    /// <summary>Adds <paramref name="key"/> after its next backoff step and counts one more failure for it.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        TimeSpan delay;
        lock (_gate)
        {
            var failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            delay = _options.JitteredBackoff(failures, _options.Jitter > 0 ? Random.Shared.NextDouble() : 0.5);
        }

        QueueMetrics.Retries.Add(1, _queueTag);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Resets the failure count of <paramref name="key"/> (it succeeded, or it should not be retried).</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>How many times <paramref name="key"/> has failed since it was last forgotten.</summary>
    public int NumRequeues(TKey key)
    {
        lock (_gate)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Waits for the next key and marks it as being processed; the caller must call <see cref="Done"/> with it.
    /// Returns false when the queue shuts down or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<(bool Ok, TKey Key)> GetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (false, default!);
            }

            lock (_gate)
            {
                if (_shuttingDown)
                {
                    return (false, default!);
                }

                if (!_queue.TryDequeue(out var key))
                {
                    continue;
                }

                _processing.Add(key);
                _dirty.Remove(key);
                QueueMetrics.Depth.Add(-1, _queueTag);
                if (_enqueuedAt.Remove(key, out var since))
                {
                    QueueMetrics.WaitDuration.Record(_time.GetElapsedTime(since).TotalSeconds, _queueTag);
                }

                return (true, key);
            }
        }
    }

    /// <summary>Ends the processing of <paramref name="key"/>; a key re-added meanwhile becomes ready again.</summary>
    public void Done(TKey key)
    {
        var signal = false;
        lock (_gate)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key) && !_shuttingDown)
            {
                EnqueueLocked(key);
                signal = true;
            }
        }

        if (signal)
        {
            _available.Release();
        }
    }

    /// <summary>Stops handing out keys; pending delayed adds are dropped. Workers finish their current key.</summary>
    public void ShutDown()
    {
        lock (_gate)
        {
            if (_shuttingDown)
            {
                return;
            }

            _shuttingDown = true;
            foreach (var (_, waiting) in _waiting)
            {
                waiting.Timer.Dispose();
            }

            _waiting.Clear();
            QueueMetrics.Depth.Add(-_queue.Count, _queueTag);
            _queue.Clear();
        }

        // Wake every getter; they see the flag and return.
        _available.Release(int.MaxValue / 2);
    }

    /// <summary>
    /// Runs <paramref name="workers"/> workers until <paramref name="cancellationToken"/> fires or the queue shuts down.
    /// The process function's <see cref="WorkResult"/> decides what happens to the key; an exception counts as a failure
    /// (logged once, retried with backoff).
    /// </summary>
    public async Task RunWorkersAsync(int workers, Func<TKey, CancellationToken, Task<WorkResult>> process,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentNullException.ThrowIfNull(process);
        using var registration = cancellationToken.Register(ShutDown);
        var tasks = Enumerable.Range(0, workers)
            .Select(_ => Task.Run(() => WorkerLoopAsync(process, cancellationToken), CancellationToken.None))
            .ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task WorkerLoopAsync(Func<TKey, CancellationToken, Task<WorkResult>> process, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (ok, key) = await GetAsync(cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                return;
            }

            var started = _time.GetTimestamp();
            try
            {
                var result = await process(key, cancellationToken).ConfigureAwait(false);
                Apply(key, result);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var delay = AddRateLimited(key);
                _logger.LogError(ex, "Processing {Key} in queue {Queue} failed; retrying in {Delay}.", key, _options.Name, delay);
            }
            finally
            {
                QueueMetrics.WorkDuration.Record(_time.GetElapsedTime(started).TotalSeconds, _queueTag);
                Done(key);
            }
        }
    }

    private void Apply(TKey key, WorkResult result)
    {
        switch (result.Kind)
        {
            case WorkResultKind.Done:
                Forget(key);
                break;
            case WorkResultKind.Retry:
                AddRateLimited(key);
                break;
            case WorkResultKind.RequeueAfter:
                Forget(key);
                AddAfter(key, result.Delay);
                break;
            default:
                throw new UnreachableException($"Unknown work result kind {result.Kind}.");
        }
    }

    private void OnTimerDue(TKey key)
    {
        lock (_gate)
        {
            if (!_waiting.Remove(key, out var waiting))
            {
                return;
            }

            waiting.Timer.Dispose();
        }

        Add(key);
    }

    private void CancelWaitingLocked(TKey key)
    {
        if (_waiting.Remove(key, out var waiting))
        {
            waiting.Timer.Dispose();
        }
    }

    private void EnqueueLocked(TKey key)
    {
        _queue.Enqueue(key);
        _enqueuedAt[key] = _time.GetTimestamp();
        QueueMetrics.Depth.Add(1, _queueTag);
    }

    public void Dispose()
    {
        ShutDown();
        _available.Dispose();
    }
}

public enum WorkResultKind
{
    /// <summary>The key is done: forget its failures.</summary>
    Done,
    /// <summary>The key failed: retry after its next backoff step.</summary>
    Retry,
    /// <summary>The key is not finished: process it again after a fixed delay (not a failure).</summary>
    RequeueAfter,
}

/// <summary>What the process function tells the queue about a key.</summary>
public readonly record struct WorkResult(WorkResultKind Kind, TimeSpan Delay)
{
    public static WorkResult Done { get; } = new(WorkResultKind.Done, TimeSpan.Zero);
    public static WorkResult Retry { get; } = new(WorkResultKind.Retry, TimeSpan.Zero);
    public static WorkResult After(TimeSpan delay) => new(WorkResultKind.RequeueAfter, delay);
}

public sealed class WorkQueueOptions
{
    /// <summary>The queue's name in metrics and logs.</summary>
    public string Name { get; init; } = "default";
    /// <summary>First backoff step after a failure.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Upper bound of the backoff.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Spread of the backoff as a fraction of the step (0 = none, at most 1): a step d becomes a delay drawn uniformly
    /// from [d·(1−Jitter), d·(1+Jitter)), capped at <see cref="MaxDelay"/>, so keys that one outage failed together do not
    /// retry together.
    /// </summary>
    public double Jitter { get; init; }

    /// <summary>The delay after the (<paramref name="failures"/>+1)-th consecutive failure: base·2^failures, capped.</summary>
    public TimeSpan Backoff(int failures) => JitteredBackoff(failures, 0.5);

    /// <summary>
    /// The delay after the (<paramref name="failures"/>+1)-th consecutive failure: the step base·2^failures scaled by
    /// 1 + <see cref="Jitter"/>·(2·<paramref name="unit"/> − 1), capped at <see cref="MaxDelay"/>. <paramref name="unit"/>
    /// is a uniform random number in [0, 1) (0.5 gives the step itself).
    /// </summary>
    public TimeSpan JitteredBackoff(int failures, double unit)
    {
        var exponent = Math.Min(Math.Max(failures, 0), 30);
        var scale = 1 + (Jitter * ((2 * Math.Clamp(unit, 0, 1)) - 1));
        var ticks = BaseDelay.Ticks * Math.Pow(2, exponent) * scale;
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    internal void Validate()
    {
        if (BaseDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BaseDelay), BaseDelay, "WorkQueueOptions.BaseDelay must be positive.");
        }

        if (Jitter is < 0 or > 1 || double.IsNaN(Jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(Jitter), Jitter, "WorkQueueOptions.Jitter must be between 0 and 1.");
        }

        if (MaxDelay < BaseDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "WorkQueueOptions.MaxDelay must be at least BaseDelay.");
        }
    }
}
