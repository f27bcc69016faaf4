using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Time.Testing;

namespace KubeStack.Runtime.Tests.Queue;

public sealed class WorkQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Adding_a_waiting_key_twice_hands_it_out_once()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        Assert.Equal(2, queue.Depth);
        var first = await queue.GetAsync(CancellationToken.None).WaitAsync(Timeout);
        var second = await queue.GetAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(("a", "b"), (first.Key, second.Key));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task A_key_added_while_processing_is_handed_out_again_only_after_Done()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        var (_, key) = await queue.GetAsync(CancellationToken.None).WaitAsync(Timeout);

        queue.Add("a");
        Assert.Equal(0, queue.Depth);
        var next = queue.GetAsync(CancellationToken.None);
        Assert.False(next.IsCompleted);

        queue.Done(key);
        var again = await next.WaitAsync(Timeout);
        Assert.True(again.Ok);
        Assert.Equal("a", again.Key);
    }

    [Fact]
    public async Task One_key_is_never_processed_by_two_workers_at_once_and_readds_are_not_lost()
    {
        using var queue = new WorkQueue<string>();
        var running = new ConcurrentDictionary<string, int>();
        var maxSeen = 0;
        var runs = 0;
        var firstRunEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondRunDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();

        var workers = queue.RunWorkersAsync(4, async (key, ct) =>
        {
            var now = running.AddOrUpdate(key, 1, (_, v) => v + 1);
            InterlockedMax(ref maxSeen, now);
            var run = Interlocked.Increment(ref runs);
            if (run == 1)
            {
                firstRunEntered.SetResult();
                await releaseFirstRun.Task.WaitAsync(ct);
            }

            running.AddOrUpdate(key, 0, (_, v) => v - 1);
            if (run == 2)
            {
                secondRunDone.SetResult();
            }

            return WorkResult.Done;
        }, cts.Token);

        queue.Add("vm/default/a");
        await firstRunEntered.Task.WaitAsync(Timeout);
        // Three more adds while the first run is in progress: they collapse into exactly one more run.
        queue.Add("vm/default/a");
        queue.Add("vm/default/a");
        queue.Add("vm/default/a");
        releaseFirstRun.SetResult();
        await secondRunDone.Task.WaitAsync(Timeout);

        await cts.CancelAsync();
        await workers.WaitAsync(Timeout);
        Assert.Equal(1, maxSeen);
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task Different_keys_run_in_parallel_up_to_the_number_of_workers()
    {
        using var queue = new WorkQueue<string>();
        var started = new ConcurrentDictionary<string, TaskCompletionSource>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var k in new[] { "a", "b", "c", "d" })
        {
            started[k] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        using var cts = new CancellationTokenSource();
        var workers = queue.RunWorkersAsync(3, async (key, ct) =>
        {
            started[key].SetResult();
            await release.Task.WaitAsync(ct);
            return WorkResult.Done;
        }, cts.Token);

        foreach (var k in new[] { "a", "b", "c", "d" })
        {
            queue.Add(k);
        }

        await Task.WhenAll(started["a"].Task, started["b"].Task, started["c"].Task).WaitAsync(Timeout);
        Assert.Equal(3, queue.InFlight);
        Assert.False(started["d"].Task.IsCompleted);
        Assert.Equal(1, queue.Depth);

        release.SetResult();
        await started["d"].Task.WaitAsync(Timeout);
        await cts.CancelAsync();
        await workers.WaitAsync(Timeout);
    }

    [Fact]
    public void Backoff_doubles_per_failure_and_stops_at_the_maximum()
    {
        var options = new WorkQueueOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5) };

        var steps = Enumerable.Range(0, 5).Select(options.Backoff).ToArray();

        Assert.Equal([1, 2, 4, 5, 5], steps.Select(s => s.TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(5), options.Backoff(int.MaxValue));
    }

    [Fact]
    public void Jittered_backoff_stays_within_a_quarter_of_the_step_either_side_and_under_the_maximum()
    {
        var options = new WorkQueueOptions { BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(5), Jitter = 0.25 };

        Assert.Equal(TimeSpan.FromMilliseconds(375), options.JitteredBackoff(0, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.JitteredBackoff(0, 0.5));
        Assert.True(options.JitteredBackoff(0, 0.999_999) < TimeSpan.FromMilliseconds(625));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.JitteredBackoff(2, 0));
        Assert.Equal(TimeSpan.FromSeconds(5), options.JitteredBackoff(4, 0)); // 8 s · 0.75 is capped
        Assert.Equal(TimeSpan.FromSeconds(5), options.JitteredBackoff(int.MaxValue, 0));
    }

    [Fact]
    public void Keys_that_fail_together_get_spread_retry_delays_within_the_jitter_bounds()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue<string>(
            new WorkQueueOptions { BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromMinutes(1), Jitter = 0.25 }, time);

        var first = Enumerable.Range(0, 200).Select(i => queue.AddRateLimited($"k{i}")).ToArray();
        var second = Enumerable.Range(0, 200).Select(i => queue.AddRateLimited($"k{i}")).ToArray();

        Assert.All(first, d => Assert.InRange(d, TimeSpan.FromMilliseconds(375), TimeSpan.FromMilliseconds(625)));
        Assert.All(second, d => Assert.InRange(d, TimeSpan.FromMilliseconds(750), TimeSpan.FromMilliseconds(1250)));
        // Spread, not in step: 200 uniform draws over a 250 ms window land in most of its 10 ms buckets.
        Assert.True(first.Select(d => (int)(d.TotalMilliseconds / 10)).Distinct().Count() >= 20, "first retries are not spread");
        Assert.True(second.Select(d => (int)(d.TotalMilliseconds / 20)).Distinct().Count() >= 20, "second retries are not spread");
        Assert.True(first.Max() - first.Min() > TimeSpan.FromMilliseconds(150));
    }

    [Fact]
    public void A_jitter_outside_zero_to_one_is_refused_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkQueue<string>(new WorkQueueOptions { Jitter = 1.5 }));

        Assert.Contains("WorkQueueOptions.Jitter must be between 0 and 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rate_limited_key_becomes_ready_only_when_its_backoff_has_passed_and_Forget_resets_it()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue<string>(
            new WorkQueueOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(60) }, time);

        Assert.Equal(TimeSpan.FromSeconds(1), queue.AddRateLimited("a"));
        Assert.Equal(1, queue.Waiting);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, queue.Depth);
        var (_, key) = await queue.GetAsync(CancellationToken.None).WaitAsync(Timeout);
        queue.Done(key);

        Assert.Equal(TimeSpan.FromSeconds(2), queue.AddRateLimited("a"));
        Assert.Equal(2, queue.NumRequeues("a"));
        queue.Forget("a");
        Assert.Equal(0, queue.NumRequeues("a"));
        Assert.Equal(TimeSpan.FromSeconds(1), queue.AddRateLimited("a"));
    }

    [Fact]
    public async Task A_failing_key_is_retried_after_backoff_while_other_keys_keep_flowing()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue<string>(
            new WorkQueueOptions { BaseDelay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromMinutes(1) }, time);
        var attempts = new ConcurrentDictionary<string, int>();
        var bDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aFirstFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aSucceeded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();

        var workers = queue.RunWorkersAsync(1, (key, _) =>
        {
            var n = attempts.AddOrUpdate(key, 1, (_, v) => v + 1);
            switch (key)
            {
                case "a" when n == 1:
                    aFirstFailed.SetResult();
                    throw new InvalidOperationException("host call failed");
                case "a":
                    aSucceeded.SetResult();
                    return Task.FromResult(WorkResult.Done);
                default:
                    bDone.SetResult();
                    return Task.FromResult(WorkResult.Done);
            }
        }, cts.Token);

        queue.Add("a");
        await aFirstFailed.Task.WaitAsync(Timeout);
        queue.Add("b");
        await bDone.Task.WaitAsync(Timeout);
        await WaitUntil(() => queue.Waiting == 1);
        Assert.False(aSucceeded.Task.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(10));
        await aSucceeded.Task.WaitAsync(Timeout);
        Assert.Equal(2, attempts["a"]);
        await WaitUntil(() => queue.NumRequeues("a") == 0);

        await cts.CancelAsync();
        await workers.WaitAsync(Timeout);
    }

    [Fact]
    public async Task RequeueAfter_processes_the_key_again_after_the_delay_without_counting_a_failure()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue<string>(timeProvider: time);
        var runs = 0;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var workers = queue.RunWorkersAsync(1, (key, _) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                return Task.FromResult(WorkResult.After(TimeSpan.FromSeconds(30)));
            }

            second.SetResult();
            return Task.FromResult(WorkResult.Done);
        }, cts.Token);

        queue.Add("a");
        await WaitUntil(() => queue.Waiting == 1);
        Assert.Equal(0, queue.NumRequeues("a"));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(second.Task.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await second.Task.WaitAsync(Timeout);

        await cts.CancelAsync();
        await workers.WaitAsync(Timeout);
    }

    [Fact]
    public void An_earlier_delayed_add_wins_over_a_later_one_and_an_immediate_add_cancels_the_delay()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue<string>(timeProvider: time);

        queue.AddAfter("a", TimeSpan.FromSeconds(10));
        queue.AddAfter("a", TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, queue.Depth);
        Assert.Equal(0, queue.Waiting);

        queue.AddAfter("b", TimeSpan.FromSeconds(10));
        queue.Add("b");
        Assert.Equal(0, queue.Waiting);
        Assert.Equal(2, queue.Depth);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, queue.Depth);
    }

    [Fact]
    public async Task ShutDown_releases_waiting_getters_and_ignores_new_adds()
    {
        using var queue = new WorkQueue<string>();
        var getter = queue.GetAsync(CancellationToken.None);

        queue.ShutDown();
        var result = await getter.WaitAsync(Timeout);
        queue.Add("a");

        Assert.False(result.Ok);
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task Cancelling_the_workers_lets_the_running_key_finish_its_cancellation()
    {
        using var queue = new WorkQueue<string>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancellation = false;
        using var cts = new CancellationTokenSource();
        var workers = queue.RunWorkersAsync(2, async (_, ct) =>
        {
            entered.SetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                sawCancellation = true;
                throw;
            }

            return WorkResult.Done;
        }, cts.Token);

        queue.Add("a");
        await entered.Task.WaitAsync(Timeout);
        await cts.CancelAsync();
        await workers.WaitAsync(Timeout);

        Assert.True(sawCancellation);
        Assert.Equal(0, queue.InFlight);
    }

    [Fact]
    public async Task Queue_metrics_report_adds_depth_and_wait_time_under_kubestack_queue_names()
    {
        var queueName = "metrics-" + Guid.NewGuid().ToString("N");
        var measurements = new ConcurrentBag<(string Instrument, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == QueueMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "queue" && (string?)tag.Value == queueName)
                {
                    measurements.Add((instrument.Name, value));
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.Start();

        using var queue = new WorkQueue<string>(new WorkQueueOptions { Name = queueName });
        queue.Add("a");
        queue.Add("b");
        var (_, key) = await queue.GetAsync(CancellationToken.None).WaitAsync(Timeout);
        queue.Done(key);

        var byName = measurements.GroupBy(m => m.Instrument).ToDictionary(g => g.Key, g => g.Select(m => m.Value).ToList());
        Assert.Equal(2, byName["kubestack_queue_adds_total"].Sum());
        Assert.Equal(1, byName["kubestack_queue_depth"].Sum());
        Assert.Single(byName["kubestack_queue_wait_duration_seconds"]);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        do
        {
            current = Volatile.Read(ref target);
            if (value <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref target, value, current) != current);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not become true in time.");
            }

            await Task.Delay(5);
        }
    }
}
