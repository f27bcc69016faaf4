using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.HostIntegration.Tests.Migration;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Faults;

/// <summary>
/// Issue 11, "restart libvirtd mid-operation": the agent's real runtime and storage handlers, connected to node2's
/// libvirtd (qemu+tcp://10.77.2.2/system, never the shared qemu:///system daemon), serve a stream of pool and disk
/// requests while that daemon is SIGKILLed and started again, tied to request progress (<see cref="LibvirtdRestarts"/>).
/// In <see cref="LabCollection"/>: the migration tests, node2's other users, never run at the same time.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LibvirtdRestartTests(ITestOutputHelper output)
{
    private const string Pool = Kinds.VirtualMachinePool;
    private const string Disk = Kinds.VirtualMachineDisk;
    private const int Disks = 12;
    private const int MinRestarts = 5;
    private const long Capacity = 1_000_000_000;
    private const long Grown = 1_500_000_000;

    private static readonly string[] OutcomeReasons =
        [EventReasons.LifecycleSucceeded, ErrorClasses.LibvirtError, ErrorClasses.VirtctlError, ErrorClasses.VirtletError, ErrorClasses.Exception];

    /// <summary>One submitted request and how it ended.</summary>
    private sealed record Outcome(string Object, string Operation, RequestPhase Phase, string? Reason, int Attempts, string? Message, bool Deleted);

    [Node2Fact]
    public async Task Killing_libvirtd_during_pool_and_disk_requests_leaves_every_request_terminal_once_and_host_equal_to_the_views()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var poolName = LabEnvironment.UniqueName("lvd-pool");
        var poolPath = StorageRequests.PoolPath(poolName);
        using var restarts = new LibvirtdRestarts(seed, every: 2);
        try
        {
            await Node2Libvirtd.StartAsync();
            await using var agent = await StorageAgentHarness.StartAsync(setup: new StorageAgentSetup
            {
                Uri = Node2Libvirtd.Uri,
                Wrap = restarts.Wrap,
                // the agent's defaults (AgentOptions): 5 attempts, 0.5 s doubling
                RetryBaseDelay = TimeSpan.FromMilliseconds(500),
                RetryMaxDelay = TimeSpan.FromSeconds(5),
            });
            restarts.Watch(agent.Connection);
            var outcomes = new List<Outcome>();

            // the pool first (its createPool is the first request: it gets a restart)
            await agent.ApplyAsync(Pool, poolName, "createPool", StorageRequests.CreatePool(poolPath));
            var pool = await EndAsync(agent, Pool, poolName, "createPool");
            outcomes.Add(pool);
            Assert.True(pool.Phase == RequestPhase.Succeeded, $"createPool must converge once libvirtd is back: {pool}");

            // then every disk's life at once (4 workers): create, grow, clone, and delete every other one
            var lives = await Task.WhenAll(Enumerable.Range(0, Disks).Select(i => DiskLifeAsync(agent, poolName, i)));
            outcomes.AddRange(lives.SelectMany(l => l.Outcomes));
            await restarts.SettleAsync();

            // the agent reconnects by itself, and the next request succeeds at its first attempt
            var connection = agent.Connection;
            await Await.UntilAsync(() => connection.IsConnected, TimeSpan.FromSeconds(30), "the agent's libvirt connection coming back");
            var probeName = LabEnvironment.UniqueName("lvd-after");
            await agent.ApplyAsync(Disk, probeName, "createDisk", StorageRequests.CreateDisk(poolName, Capacity));
            var probe = await EndAsync(agent, Disk, probeName, "createDisk");
            Report(restarts, outcomes, connection.Generation);
            Assert.True((probe.Phase, probe.Attempts) == (RequestPhase.Succeeded, 1), $"the first request after the restarts: {probe}");

            // the restarts happened, and some of them while a handler was inside a libvirt call
            var records = restarts.Records;
            Assert.True(records.Count >= MinRestarts, $"only {records.Count} restarts happened (at least {MinRestarts} required)");
            var inCall = records.Count(r => r.Mode == RestartMode.InCall && r.PendingBytes > 0);
            Assert.True(inCall >= 2, $"only {inCall} restarts caught a handler inside a libvirt call");
            Assert.True(connection.Generation > 1, "the agent's connection never reconnected");

            // every request ended Succeeded, or Failed with LibvirtError (the outage), never anything else
            foreach (var o in outcomes.Where(o => o.Phase != RequestPhase.Succeeded))
            {
                Assert.True(o.Reason == ErrorClasses.LibvirtError, $"a request hit by the outage ended with {o.Reason}, not LibvirtError: {o}");
            }

            // exactly one outcome Event per submitted request
            foreach (var group in outcomes.Append(probe).GroupBy(o => o.Object))
            {
                var events = (await agent.EventsAsync(group.Key)).Where(e => OutcomeReasons.Contains(e.Reason)).Sum(e => e.Count ?? 1);
                Assert.True(events == group.Count(), $"{group.Key}: {events} outcome Events for {group.Count()} requests");
            }

            // host state equals the views: the pool, every disk that is still there, the clones, and nothing else
            var (effects, volumesOfFailedCreates) = await AssertHostEqualsViewsAsync(agent, poolName, poolPath, lives.Append(new DiskLife(probeName, [probe], null)).ToList());
            output.WriteLine($"{effects.Count} effects of requests that Failed after all attempts (complete, never partial): [{string.Join(", ", effects)}]");
            output.WriteLine($"{volumesOfFailedCreates.Count} volumes of createDisks that Failed, removed by kubectl delete below: [{string.Join(", ", volumesOfFailedCreates)}]");

            // kubectl delete of every remaining disk object (not the clones' own objects): the clones stay;
            // a createDisk that gave up recorded its pool (FailedCreate.PoolAnnotation), so its volume goes too
            var remaining = lives.Where(l => !l.Outcomes.Any(o => o.Deleted)).Select(l => l.Name).Append(probeName).ToList();
            foreach (var name in remaining)
            {
                await agent.DeleteAsync(Disk, name);
            }

            foreach (var name in remaining)
            {
                await agent.WaitGoneAsync(Disk, name);
            }

            Assert.Equal(lives.Select(l => l.CloneName ?? (l.FailedClone is { } f && File.Exists(Path.Combine(poolPath, f)) ? f : null))
                    .OfType<string>().Order(StringComparer.Ordinal),
                Directory.EnumerateFileSystemEntries(poolPath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            await restarts.SettleAsync();
            await Node2Libvirtd.StartAsync();
            Assert.True(await Node2Libvirtd.AnswersAsync(), $"node2's libvirtd must answer 'virsh -c {Node2Libvirtd.Uri} list' after the test");
            using var conn = LibvirtConnection.Open(Node2Libvirtd.Uri);
            using var cleanup = new LibvirtCleanup(conn);
            cleanup.Pool(poolName);
            cleanup.PathToDelete(poolPath);
        }
    }

    [Node2Fact]
    public async Task A_call_into_a_hung_libvirtd_fails_retryably_at_the_keepalive_bound_and_the_connection_returns_after_a_restart()
    {
        await Node2Libvirtd.StartAsync();
        using var conn = LibvirtConnection.Open(Node2Libvirtd.Uri, new LibvirtConnectionOptions { KeepAliveIntervalSeconds = 1, KeepAliveCount = 2 });
        var reconnected = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Reconnected += (_, e) => reconnected.TrySetResult(e.Generation);
        try
        {
            var pid = Node2Libvirtd.Freeze();
            var call = Task.Run(() => conn.ListAllStoragePools());
            await Await.UntilAsync(() => call.IsCompleted || Node2Libvirtd.LargestPendingCall(pid) > 0, TimeSpan.FromSeconds(10),
                "the call waiting in the frozen daemon's socket");

            // the daemon answers nothing, not even keepalives: libvirt closes the connection and the call fails (no wedge)
            var failure = await Assert.ThrowsAsync<LibvirtException>(() => call.WaitAsync(TimeSpan.FromSeconds(60)));
            output.WriteLine($"call into the hung daemon: {failure.Message}");
            Assert.True(failure.IsConnectionFailure && failure.IsRetryable, $"not a retryable connection failure: {failure.Message}");

            Node2Libvirtd.Kill();
            await Node2Libvirtd.StartAsync();
            Assert.True(await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(60)) > 1);
            foreach (var pool in conn.ListAllStoragePools()) pool.Dispose();
        }
        finally
        {
            await Node2Libvirtd.StartAsync();
        }
    }

    private void Report(LibvirtdRestarts restarts, IReadOnlyList<Outcome> outcomes, long generation)
    {
        var downtimes = restarts.Downtimes.Select(d => d.TotalSeconds).Order().ToList();
        output.WriteLine($"{restarts.Records.Count} restarts of node2's libvirtd ({restarts.Records.Count(r => r.Mode == RestartMode.InCall)} inside a call, " +
                         $"{restarts.Records.Count(r => r.Mode == RestartMode.AfterCall)} after the k-th call); down {downtimes.FirstOrDefault():0.00}-" +
                         $"{downtimes.LastOrDefault():0.00} s (kill to 'virsh list'); agent connection generation {generation}; reconnected " +
                         string.Join(", ", restarts.ReconnectLags().Select(l => l == TimeSpan.MaxValue ? "never" : $"{l.TotalSeconds:0.00}")) +
                         " s after node2 answered");
        foreach (var r in restarts.Records)
        {
            var result = r.Result is HandlerResult.Failure f ? $"Failed {f.ErrorClass} retryable={f.Retryable}: {f.Message}" : r.Result.GetType().Name;
            output.WriteLine($"  {r.Mode} calls={r.Calls} pending={r.PendingBytes} B {r.Operation} {r.Object}: {result}");
        }

        output.WriteLine($"{outcomes.Count} requests: {outcomes.Count(o => o.Phase == RequestPhase.Succeeded)} Succeeded, " +
                         $"{outcomes.Count(o => o.Phase == RequestPhase.Failed)} Failed; {outcomes.Count(o => o.Attempts > 1)} needed more than one attempt");
        foreach (var o in outcomes.Where(o => o.Phase == RequestPhase.Failed || o.Attempts > 1))
        {
            output.WriteLine($"  {o.Operation} {o.Object}: {o.Phase} after {o.Attempts} attempts {o.Reason}: {o.Message}");
        }
    }

    /// <summary>One disk's requests in order; returns how each ended (later ones only after a success).</summary>
    /// <param name="FailedClone">The clone name of a cloneDisk that ended Failed (its copy may still have been made).</param>
    private sealed record DiskLife(string Name, IReadOnlyList<Outcome> Outcomes, string? CloneName, string? FailedClone = null);

    private static async Task<DiskLife> DiskLifeAsync(StorageAgentHarness agent, string poolName, int index)
    {
        var name = LabEnvironment.UniqueName($"lvd-d{index}");
        var outcomes = new List<Outcome>();
        await agent.ApplyAsync(Disk, name, "createDisk", StorageRequests.CreateDisk(poolName, Capacity));
        outcomes.Add(await EndAsync(agent, Disk, name, "createDisk"));
        if (outcomes[^1].Phase != RequestPhase.Succeeded) return new DiskLife(name, outcomes, null);

        await agent.SubmitAsync(Disk, name, "resizeDisk", new JsonObject
        {
            ["type"] = "localfs", ["pool"] = poolName, ["capacity"] = Grown.ToString(CultureInfo.InvariantCulture),
        });
        outcomes.Add(await EndAsync(agent, Disk, name, "resizeDisk"));

        var clone = LabEnvironment.UniqueName($"lvd-c{index}");
        await agent.SubmitAsync(Disk, name, "cloneDisk", new JsonObject
        {
            ["type"] = "localfs", ["pool"] = poolName, ["newname"] = clone, ["format"] = "qcow2",
        });
        outcomes.Add(await EndAsync(agent, Disk, name, "cloneDisk"));
        var cloned = outcomes[^1].Phase == RequestPhase.Succeeded ? clone : null;
        var failedClone = cloned is null ? clone : null;

        if (index % 2 == 0)
        {
            await agent.SubmitAsync(Disk, name, "deleteDisk", StorageRequests.DeleteDisk(poolName));
            outcomes.Add(await EndAsync(agent, Disk, name, "deleteDisk"));
        }

        return new DiskLife(name, outcomes, cloned, failedClone);
    }

    /// <summary>Waits until the request ended: its terminal record with spec.lifecycle removed, or (a succeeded delete) the object gone.</summary>
    private static async Task<Outcome> EndAsync(StorageAgentHarness agent, string kind, string name, string operation)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await agent.GetAsync(kind, name);
            if (last is null)
            {
                return new Outcome(name, operation, RequestPhase.Succeeded, null, 0, "the object was deleted", Deleted: true);
            }

            if (last.Spec.Lifecycle is null && last.Status?.Lifecycle is { Key: var key } l && key == operation
                && l.Phase is RequestPhase.Succeeded or RequestPhase.Failed)
            {
                return new Outcome(name, operation, l.Phase, l.Reason, l.Attempts, l.Message, Deleted: false);
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{kind} {name}: {operation} did not end within 90 s (stuck?): status {last?.Status?.Lifecycle?.Phase} " +
                                   $"attempts {last?.Status?.Lifecycle?.Attempts}: {last?.Status?.Lifecycle?.Message}");
    }

    /// <summary>
    /// Checks the host against the views. Returns the effects of requests that ended Failed although an earlier attempt
    /// made them (the attempt's reply was lost, every later attempt met an outage: a known gap, docs/reliability.md), and
    /// the disks whose createDisk Failed but left a complete volume (kubectl delete's cleanup finds it through the pool
    /// the failed request recorded).
    /// </summary>
    private static async Task<(IReadOnlyList<string> Effects, IReadOnlyList<string> VolumesOfFailedCreates)> AssertHostEqualsViewsAsync(
        StorageAgentHarness agent, string poolName, string poolPath, IReadOnlyList<DiskLife> lives)
    {
        var leftovers = new List<string>();
        var volumesOfFailedCreates = new List<string>();
        using var conn = LibvirtConnection.Open(Node2Libvirtd.Uri);
        using (var pool = conn.LookupStoragePoolByName(poolName))
        {
            Assert.True(pool.IsActive(), $"pool {poolName} must be running on node2");
            pool.Refresh();
        }

        var poolView = (await agent.GetAsync(Pool, poolName))!.Spec.Pool!;
        Assert.Equal((poolPath, "running"), ((string?)poolView["path"], (string?)poolView["state"]));

        var expected = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var life in lives)
        {
            var path = Path.Combine(poolPath, life.Name);
            var created = life.Outcomes[0].Phase == RequestPhase.Succeeded;
            if (life.CloneName is not null) expected.Add(life.CloneName);
            if (life.FailedClone is { } failedClone && File.Exists(Path.Combine(poolPath, failedClone)))
            {
                // the same gap for cloneDisk: an attempt's copy completed, its reply was lost, every later attempt met an
                // outage; the copy is complete (renamed into place only when done), never partial
                var copy = await QemuImg.Default.InfoAsync(Path.Combine(poolPath, failedClone));
                Assert.Equal("qcow2", copy.Format);
                expected.Add(failedClone);
                leftovers.Add($"{failedClone} (copied by a cloneDisk that Failed)");
            }

            if (!created && File.Exists(path))
            {
                // an attempt's virStorageVolCreateXML went through, its reply was lost, and every later attempt met an
                // outage too: a complete volume may stay (never a partial one); see LeftoverOfFailedCreate
                var leftover = await QemuImg.Default.InfoAsync(path);
                Assert.True((leftover.Format, leftover.VirtualSize) == (DiskOperations.Format, DiskOperations.VirtualSizeOf(Capacity)),
                    $"a failed createDisk left a half-made volume {path}: {leftover.Format}, {leftover.VirtualSize} bytes");
                expected.Add(life.Name);
                leftovers.Add($"{life.Name} (created by a createDisk that Failed)");
                volumesOfFailedCreates.Add(life.Name);
                continue;
            }

            if (!created || life.Outcomes.Any(o => o.Deleted))
            {
                Assert.False(File.Exists(path), $"disk {life.Name} ({string.Join(", ", life.Outcomes.Select(o => $"{o.Operation} {o.Phase}"))}) " +
                                                "must have no volume file");
                continue;
            }

            expected.Add(life.Name);
            var obj = await agent.GetAsync(Disk, life.Name);
            var view = obj!.Spec.Volume!;
            var info = await QemuImg.Default.InfoAsync(path);
            Assert.Equal(path, (string?)view["filename"]);
            var grown = life.Outcomes.Any(o => o.Operation == "resizeDisk" && o.Phase == RequestPhase.Succeeded);
            var resizeFailed = life.Outcomes.Any(o => o.Operation == "resizeDisk" && o.Phase == RequestPhase.Failed);
            if (resizeFailed && info.VirtualSize == ResizeDiskHandler.SizeFor(Grown))
            {
                // the same gap: an attempt grew the disk, every later attempt met an outage; the view keeps the old size
                leftovers.Add($"{life.Name} (grown by a resizeDisk that Failed)");
            }
            else
            {
                Assert.Equal(info.VirtualSize.ToString(CultureInfo.InvariantCulture), (string?)view["virtual_size"]);
                Assert.Equal(grown ? ResizeDiskHandler.SizeFor(Grown) : DiskOperations.VirtualSizeOf(Capacity), info.VirtualSize);
            }

            using var pool = conn.LookupStoragePoolByName(poolName);
            using var volume = pool.LookupStorageVolByName(life.Name);
            Assert.Equal(path, volume.GetPath());
        }

        Assert.Equal(expected, new SortedSet<string>(Directory.EnumerateFileSystemEntries(poolPath).Select(p => Path.GetFileName(p)!), StringComparer.Ordinal));
        return (leftovers, volumesOfFailedCreates);
    }
}
