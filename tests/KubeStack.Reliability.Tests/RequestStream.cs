using KubeStack.Contracts.Resources;

namespace KubeStack.Reliability.Tests;

/// <summary>
/// Clients submitting requests: one stream per object, each request written when the previous one of that object is
/// terminal (the seed's one-request-per-object contract), all objects at once. Then the invariant.
/// </summary>
internal static class RequestStream
{
    /// <param name="afterEachRequest">
    /// Called with the running count of terminal requests after each one, so that a fault can be tied to progress rather
    /// than to wall time (a fast machine can finish the stream before a timer fires).
    /// </param>
    public static async Task<Dictionary<string, List<string>>> RunAsync(FaultCluster cluster, int objects, int requestsPerObject, string prefix,
        TimeSpan requestTimeout, Func<int, Task>? afterEachRequest = null)
    {
        var done = 0;
        var names = Enumerable.Range(0, objects).Select(i => $"{prefix}-{i:D3}").ToArray();
        foreach (var name in names)
        {
            await cluster.CreateVmAsync(name);
        }

        var submitted = names.ToDictionary(n => n, _ => new List<string>(), StringComparer.Ordinal);
        await Task.WhenAll(names.Select(name => Task.Run(async () =>
        {
            for (var r = 0; r < requestsPerObject; r++)
            {
                var eventId = $"{name}-r{r}";
                var op = FaultCluster.Operations[Random.Shared.Next(FaultCluster.Operations.Length)];
                submitted[name].Add(eventId);
                await cluster.SubmitAsync(name, op, eventId);
                await cluster.WaitTerminalAsync(name, eventId, requestTimeout);
                var count = Interlocked.Increment(ref done);
                if (afterEachRequest is not null)
                {
                    await afterEachRequest(count);
                }
            }
        })));
        return submitted;
    }

    /// <summary>
    /// Every submitted request ended Succeeded exactly once: its effect is on the host once, in submission order per object,
    /// never two handlers at once on an object; the object's record is the last request's, with spec.lifecycle removed.
    /// </summary>
    public static async Task AssertInvariantAsync(FaultCluster cluster, Dictionary<string, List<string>> submitted)
    {
        Assert.Empty(cluster.Host.Violations);
        foreach (var (name, eventIds) in submitted)
        {
            Assert.Equal(eventIds, cluster.Host.Applied(name));
            var obj = await cluster.GetAsync(name);
            Assert.Null(obj.Spec.Lifecycle);
            var record = obj.Status!.Lifecycle!;
            Assert.Equal((eventIds[^1], RequestPhase.Succeeded), (record.EventId, record.Phase));
            Assert.Equal(FaultCluster.Node, obj.Status.NodeName);
        }
    }
}
