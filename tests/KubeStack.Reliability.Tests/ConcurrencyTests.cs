namespace KubeStack.Reliability.Tests;

/// <summary>Many clients at once: per-object order is kept and nothing runs twice.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Two_hundred_requests_on_fifty_objects_at_once_keep_per_object_order_and_run_each_effect_once()
    {
        await using var cluster = await FaultCluster.StartAsync(workers: 8);

        var submitted = await RequestStream.RunAsync(cluster, objects: 50, requestsPerObject: 4, "conc", TimeSpan.FromSeconds(90));

        Assert.Equal(200, submitted.Values.Sum(v => v.Count));
        await RequestStream.AssertInvariantAsync(cluster, submitted);
        Assert.Equal(200, cluster.Host.Runs);
        Assert.Equal(0, cluster.Host.ResumedRuns);
    }
}
