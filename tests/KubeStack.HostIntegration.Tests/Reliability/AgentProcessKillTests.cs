using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Informers;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Reliability;

/// <summary>
/// The real agent process (the built KubeStack.NodeAgent, real disk handlers, the lab's qemu:///system) SIGKILLed over
/// and over while clients stream disk requests (createDisk, resizeDisk, cloneDisk, create/deleteDiskInternalSnapshot,
/// deleteDisk) at a private dir pool, and made to die at a crash point (KUBESTACK_CRASH_AT, a random one per start);
/// every time it is started again at once. Kills are tied to progress (after 1-3 claims or outcomes of this agent's
/// life) and to time (a random moment, startup included). Afterwards: every request ended Succeeded exactly once,
/// the pool holds exactly the volumes the objects' views and the succeeded clones say, with the sizes and internal
/// snapshots they say, no temporary file, no domain, no pool and no agent process left.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class AgentProcessKillTests(ITestOutputHelper output) : IDisposable
{
    private static readonly bool Soak = Environment.GetEnvironmentVariable("KUBESTACK_SOAK") == "1";

    /// <summary>SIGKILLs of the process (random moments and progress-tied), and crash-point deaths on top.</summary>
    private static readonly int TargetKills = Soak ? 400 : 100;
    private static readonly int TargetCrashDeaths = Soak ? 100 : 20;

    /// <summary>Disk objects with a request in flight at any time.</summary>
    private const int Slots = 6;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(300);

    /// <summary>How long an agent life may go without the awaited progress (a loaded 2-core machine starts the agent in seconds).</summary>
    private static readonly TimeSpan NoProgressLimit = TimeSpan.FromSeconds(180);
    private static readonly string[] CrashAt = [CrashPoints.AfterClaim, CrashPoints.AfterHostCall, CrashPoints.AfterStatus, CrashPoints.AfterSpec];
    private static readonly ApiResource DiskResource = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachineDisk));

    private readonly string _dir = Directory.CreateTempSubdirectory("kst-procfault-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private enum Death
    {
        CrashPoint,
        AfterProgress,
        RandomMoment,
    }

    /// <summary>What the clients know a disk volume must look like (from the requests that succeeded).</summary>
    private sealed class ExpectedVolume(string name, long size)
    {
        public string Name { get; } = name;
        public long Size { get; set; } = size;
        public List<string> Snapshots { get; } = [];
    }

    [LabFact]
    public async Task Killing_the_agent_process_at_random_moments_and_crash_points_ends_every_disk_request_once_and_leaves_the_host_equal_to_the_views()
    {
        var wall = Stopwatch.StartNew();
        await using var cluster = await StorageAgentHarness.StartAsync(runAgent: false);
        var prefix = LabEnvironment.UniqueName("pf");
        var poolName = $"{prefix}-pool";
        var poolPath = StorageRequests.PoolPath(poolName);
        var cleanup = new LibvirtCleanup(cluster.Connection);
        try
        {
            cleanup.Pool(poolName);
            cleanup.PathToDelete(poolPath);
            using (var pool = cluster.Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, poolPath)))
            {
                pool.Build();
                pool.Create();
            }

            await using var ledger = await RequestLedger.StartAsync(cluster.Client, Kinds.VirtualMachineDisk, "deleteDisk");
            var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
            var clients = new DiskClients(cluster, ledger, prefix, poolName);
            using var stopping = new CancellationTokenSource();
            var stream = Task.WhenAll(Enumerable.Range(0, Slots).Select(slot => Task.Run(() => clients.RunSlotAsync(slot, stopping.Token))));

            var faults = await KillRepeatedlyAsync(kubeconfig, ledger, stream);
            await stopping.CancelAsync();
            using (var last = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
            {
                await stream.WaitAsync(RequestTimeout);
                last.Stop();
            }

            var requests = ledger.Requests;
            var resumed = requests.Count(r => r.LastAttempts > 1);
            var startups = faults.Startups.Order().ToList();
            output.WriteLine($"{requests.Count} requests ({string.Join(", ", requests.GroupBy(r => r.Operation).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"))}); " +
                             $"{faults.Kills} SIGKILLs ({faults.AfterProgress} after 1-3 claims/outcomes, {faults.RandomMoment} at a random moment) + {faults.CrashDeaths} crash-point deaths " +
                             $"({string.Join(", ", faults.CrashPoints.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}); " +
                             $"{resumed} requests resumed (attempts > 1), max attempts {requests.Max(r => r.LastAttempts)}; " +
                             $"agent start to first claim/outcome p50 {Percentile(startups, 0.5):0.00} s, p90 {Percentile(startups, 0.9):0.00} s over {startups.Count} lives; " +
                             $"wall {wall.Elapsed.TotalSeconds:0} s");

            // Every request ended exactly once, Succeeded.
            Assert.Empty(ledger.Violations);
            Assert.Equal(1, ledger.Lists);
            Assert.All(requests, r =>
            {
                Assert.True(r.Done.Task.IsCompletedSuccessfully, $"{r.Name}: {r.Operation} ({r.EventId}) never ended.");
                Assert.True(r.Deleted || r.Terminal == RequestPhase.Succeeded, $"{r.Name}: {r.Operation} ({r.EventId}) ended {r.Terminal}: {r.Message}");
                Assert.Equal(1, r.TerminalWrites);
                Assert.Equal(r.Deleted, r.Operation == "deleteDisk");
            });
            Assert.Empty(clients.Failures);
            await AssertOutcomeEventsAsync(cluster, requests);
            Assert.True(faults.Kills >= TargetKills && faults.CrashDeaths >= TargetCrashDeaths,
                $"only {faults.Kills} kills and {faults.CrashDeaths} crash-point deaths happened");
            Assert.True(resumed > 0, "no request was resumed after a kill: the kills never hit a request in flight");

            // The host equals the views: the pool holds the live disks and the succeeded clones, nothing else.
            await AssertHostEqualsViewsAsync(cluster, clients, poolName, poolPath);
            AssertNoDomainOrProcessLeft(cluster, prefix, kubeconfig);
        }
        finally
        {
            cleanup.Dispose();
        }

        using (var pools = new PoolList(cluster.Connection))
        {
            Assert.DoesNotContain(pools.Names, n => n.StartsWith(prefix, StringComparison.Ordinal));
        }

        Assert.False(Directory.Exists(poolPath), $"{poolPath} was left behind");
    }

    private sealed class FaultCounts
    {
        public int Kills { get; set; }
        public int AfterProgress { get; set; }
        public int RandomMoment { get; set; }
        public int CrashDeaths { get; set; }
        public Dictionary<string, int> CrashPoints { get; } = new(StringComparer.Ordinal);
        public List<double> Startups { get; } = [];
    }

    /// <summary>
    /// Starts the agent again and again, each life ending in a SIGKILL (after 1-3 claims/outcomes of this life, or at a
    /// random moment including startup) or a death at a random crash point, until both targets are met. Never lets a
    /// request reach the agent's give-up limit (5 starts): no crash point while a request is at attempt 3, no kill while one
    /// is at attempt 4 (it is waited for instead).
    /// </summary>
    private async Task<FaultCounts> KillRepeatedlyAsync(string kubeconfig, RequestLedger ledger, Task stream)
    {
        var counts = new FaultCounts();
        var previousLifeProgressed = true;
        var lives = 0;
        while ((counts.Kills < TargetKills || counts.CrashDeaths < TargetCrashDeaths) && !stream.IsCompleted)
        {
            Assert.True(lives++ < (TargetKills + TargetCrashDeaths) * 3, $"{lives} agent lives without reaching the targets");
            var death = ChooseDeath(counts, ledger, previousLifeProgressed);
            var crashAt = death == Death.CrashPoint ? CrashAt[Random.Shared.Next(CrashAt.Length)] : null;
            var baseline = ledger.Progress;
            var started = Stopwatch.StartNew();
            using var agent = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt);
            var exited = agent.WaitForExitAsync(TimeSpan.FromMinutes(10));
            var firstProgress = ledger.WaitForProgressAsync(baseline + 1, CancellationToken.None)
                .ContinueWith(_ => started.Elapsed.TotalSeconds, TaskScheduler.Default);
            switch (death)
            {
                case Death.CrashPoint:
                    await WithinAsync(Task.WhenAny(exited, stream), agent, ledger, $"a death at {crashAt}");
                    if (exited.IsCompleted)
                    {
                        var code = await exited;
                        Assert.True(agent.Output.Contains($"{CrashPoints.EnvironmentVariable}={crashAt} reached", StringComparison.Ordinal),
                            $"the agent exited {code} without reaching {crashAt}:\n{Tail(agent.Output)}");
                        counts.CrashDeaths++;
                        counts.CrashPoints[crashAt!] = counts.CrashPoints.GetValueOrDefault(crashAt!) + 1;
                    }

                    break;
                case Death.AfterProgress:
                    await WithinAsync(Task.WhenAny(ledger.WaitForProgressAsync(baseline + Random.Shared.Next(1, 4), CancellationToken.None), stream, exited),
                        agent, ledger, "progress");
                    await Task.Delay(Random.Shared.Next(0, 150));
                    await KillAsync(agent, exited, ledger, stream);
                    counts.Kills++;
                    counts.AfterProgress++;
                    break;
                case Death.RandomMoment:
                    await Task.WhenAny(Task.Delay(Random.Shared.Next(0, 2000)), stream, exited);
                    await KillAsync(agent, exited, ledger, stream);
                    counts.Kills++;
                    counts.RandomMoment++;
                    break;
            }

            agent.Stop();
            previousLifeProgressed = ledger.Progress > baseline;
            if (firstProgress.IsCompletedSuccessfully)
            {
                counts.Startups.Add(await firstProgress);
            }
        }

        return counts;
    }

    private static Death ChooseDeath(FaultCounts counts, RequestLedger ledger, bool previousLifeProgressed)
    {
        var crashAllowed = counts.CrashDeaths < TargetCrashDeaths && ledger.MaxRunningAttempts() <= 2;
        if (counts.Kills >= TargetKills)
        {
            return crashAllowed ? Death.CrashPoint : Death.AfterProgress;
        }

        var roll = Random.Shared.NextDouble();
        if (crashAllowed && roll < 0.25)
        {
            return Death.CrashPoint;
        }

        return previousLifeProgressed && roll > 0.75 ? Death.RandomMoment : Death.AfterProgress;
    }

    /// <summary>SIGKILL (the whole process tree, as a pod kill does), unless a request is at attempt 4: then wait for progress first.</summary>
    private static async Task KillAsync(CapturedProcess agent, Task<int> exited, RequestLedger ledger, Task stream)
    {
        while (ledger.MaxRunningAttempts() >= 4 && !stream.IsCompleted)
        {
            await WithinAsync(Task.WhenAny(ledger.WaitForProgressAsync(ledger.Progress + 1, CancellationToken.None), stream), agent, ledger,
                "the end of a request at attempt 4");
        }

        Assert.False(exited.IsCompleted, $"the agent exited on its own ({(exited.IsCompleted ? exited.Result : 0)}):\n{Tail(agent.Output)}");
        agent.Stop();
    }

    /// <summary>Awaits <paramref name="task"/>; when nothing happens for <see cref="NoProgressLimit"/>, fails with the unfinished requests and the agent's output.</summary>
    private static async Task WithinAsync(Task task, CapturedProcess agent, RequestLedger ledger, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(NoProgressLimit)) != task)
        {
            var pending = ledger.Requests.Where(r => !r.Done.Task.IsCompleted)
                .Select(r => $"{r.Name} {r.Operation} ({r.EventId}, attempts {r.LastAttempts}, {r.Terminal?.ToString() ?? "not ended"})");
            throw new TimeoutException($"No {what} within {NoProgressLimit.TotalSeconds:0} s. Unfinished requests: {string.Join("; ", pending)}. " +
                                       $"Agent output:\n{Tail(agent.Output)}");
        }

        await task;
    }

    /// <summary>The outcome Event of every request was sent (at least once; again only after a crash between status and Event).</summary>
    private static async Task AssertOutcomeEventsAsync(StorageAgentHarness cluster, IReadOnlyList<RequestLedger.Request> requests)
    {
        var events = (await cluster.Client.CoreV1.ListNamespacedEventAsync("default")).Items;
        var succeeded = events.Where(e => e.Reason == EventReasons.LifecycleSucceeded).Select(e => e.Message ?? "").ToList();
        var warnings = events.Where(e => e.Type == "Warning").Select(e => e.Message ?? "").ToList();
        Assert.Empty(warnings);
        Assert.All(requests, r => Assert.Contains(succeeded, m => Names(m, r.EventId)));

        static bool Names(string message, string eventId) =>
            message.Contains($"(event ID {eventId})", StringComparison.Ordinal) || message.Contains($"(event ID {eventId},", StringComparison.Ordinal);
    }

    private async Task AssertHostEqualsViewsAsync(StorageAgentHarness cluster, DiskClients clients, string poolName, string poolPath)
    {
        var expected = clients.Expected();
        var live = await new KubernetesListWatcher<KubeStackResource>(cluster.Client, DiskResource).ListAsync(CancellationToken.None);
        var objects = live.Items.ToDictionary(o => o.Metadata.Name, StringComparer.Ordinal);
        output.WriteLine($"at the end: {objects.Count} disk objects, {expected.Count} volumes expected ({expected.Count - objects.Count} volumes without an object)");

        // Every object says its volume exists (the view), with the size the clients expect and the host has.
        foreach (var obj in objects.Values)
        {
            Assert.Null(obj.Spec.Lifecycle);
            Assert.True(expected.TryGetValue(obj.Metadata.Name, out var volume), $"object {obj.Metadata.Name} exists but no succeeded request left a volume for it");
            var view = obj.Spec.Volume ?? throw new Xunit.Sdk.XunitException($"object {obj.Metadata.Name} has no spec.volume view");
            Assert.Equal(Path.Combine(poolPath, obj.Metadata.Name), (string?)view["filename"]);
            Assert.Equal(volume!.Size.ToString(CultureInfo.InvariantCulture), (string?)view["virtual_size"]);
        }

        // The pool (libvirt) and its directory hold exactly the expected volumes: no leak, no .part, nothing deleted twice.
        using (var pool = cluster.Connection.LookupStoragePoolByName(poolName))
        {
            pool.Refresh();
            var names = pool.ListAllVolumes().Select(v =>
            {
                using (v)
                {
                    return v.Name;
                }
            }).Order(StringComparer.Ordinal);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), names);
        }

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal),
            Directory.EnumerateFileSystemEntries(poolPath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var volume in expected.Values)
        {
            var info = await QemuImg.Default.InfoAsync(Path.Combine(poolPath, volume.Name));
            Assert.Equal((volume.Name, "qcow2", volume.Size, (string?)null), (volume.Name, info.Format, info.VirtualSize, info.BackingFilename));
            var snapshots = info.Snapshots.Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
            Assert.True(volume.Snapshots.Order(StringComparer.Ordinal).SequenceEqual(snapshots, StringComparer.Ordinal),
                $"{volume.Name} has the internal snapshots [{string.Join(", ", snapshots)}], not [{string.Join(", ", volume.Snapshots)}]");
            // A killed qemu-img may leak clusters (harmless); it must never leave a corrupt image.
            var check = await QemuImg.Default.CheckAsync(Path.Combine(poolPath, volume.Name));
            Assert.True(check.CheckErrors == 0 && (check.Corruptions ?? 0) == 0, $"{volume.Name} is damaged: {check}");
            output.WriteLine($"{volume.Name}: {info.VirtualSize} bytes, {info.Snapshots.Count} internal snapshots, {check.Leaks ?? 0} leaked clusters");
        }
    }

    private static void AssertNoDomainOrProcessLeft(StorageAgentHarness cluster, string prefix, string kubeconfig)
    {
        foreach (var domain in cluster.Connection.ListAllDomains())
        {
            using (domain)
            {
                Assert.False(domain.Name.StartsWith(prefix, StringComparison.Ordinal), $"domain {domain.Name} was left behind");
            }
        }

        // No agent (nor a child of one: qemu-img) of this run is alive: their command lines name the kubeconfig or the pool.
        var left = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(kubeconfig, StringComparison.Ordinal) || cmdline.Contains(prefix, StringComparison.Ordinal))
                {
                    left.Add($"{pid}: {cmdline}");
                }
            }
            catch (IOException)
            {
                // gone while we looked
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        Assert.Empty(left);
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    /// <summary>The storage pools of the connection, disposed together.</summary>
    private sealed class PoolList(NodeAgent.Libvirt.LibvirtConnection connection) : IDisposable
    {
        private readonly IReadOnlyList<NodeAgent.Libvirt.LibvirtStoragePool> _pools = connection.ListAllStoragePools();

        public IEnumerable<string> Names => _pools.Select(p => p.Name);

        public void Dispose()
        {
            foreach (var p in _pools)
            {
                p.Dispose();
            }
        }
    }

    /// <summary>
    /// The clients: <see cref="Slots"/> disk objects with one request each in flight (the lifecycle contract: the next one
    /// is written when the previous one ended), each walking createDisk → {resizeDisk, createDiskInternalSnapshot,
    /// deleteDiskInternalSnapshot, cloneDisk}* → deleteDisk, then a new disk. A succeeded clone has its own disk object (made by
    /// cloneDisk) and is used later (its first request a resizeDisk). Keeps what the volumes must look like.
    /// </summary>
    private sealed class DiskClients(StorageAgentHarness cluster, RequestLedger ledger, string prefix, string poolName)
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, ExpectedVolume> _volumes = new(StringComparer.Ordinal);
        private readonly Queue<ExpectedVolume> _clones = new();
        private int _requests;
        private int _names;

        public List<string> Failures { get; } = [];

        public Dictionary<string, ExpectedVolume> Expected()
        {
            lock (_gate)
            {
                return new Dictionary<string, ExpectedVolume>(_volumes, StringComparer.Ordinal);
            }
        }

        public async Task RunSlotAsync(int slot, CancellationToken stopping)
        {
            ExpectedVolume? disk = null;
            while (!stopping.IsCancellationRequested)
            {
                if (disk is null)
                {
                    ExpectedVolume? clone;
                    lock (_gate)
                    {
                        _clones.TryDequeue(out clone);
                    }

                    if (clone is not null)
                    {
                        // Use a clone: cloneDisk made its VirtualMachineDisk object (decision result-objects); its first request grows it.
                        var grown = ResizeDiskHandler.SizeFor(clone.Size + MiB(Random.Shared.Next(1, 64)));
                        if (!await RunAsync(clone.Name, "resizeDisk", Params(("capacity", grown)), create: false))
                        {
                            return;
                        }

                        clone.Size = grown;
                        disk = clone;
                        continue;
                    }

                    var name = $"{prefix}-d{slot}-{Interlocked.Increment(ref _names)}";
                    var capacity = DiskOperations.MinCapacity + MiB(Random.Shared.Next(0, 256));
                    if (!await RunAsync(name, "createDisk", Params(("capacity", capacity), ("format", "qcow2")), create: true))
                    {
                        return;
                    }

                    disk = new ExpectedVolume(name, DiskOperations.VirtualSizeOf(capacity));
                    lock (_gate)
                    {
                        _volumes.Add(name, disk);
                    }

                    continue;
                }

                var roll = Random.Shared.Next(100);
                if (roll < 30)
                {
                    var grown = ResizeDiskHandler.SizeFor(disk.Size + MiB(Random.Shared.Next(1, 64)));
                    if (!await RunAsync(disk.Name, "resizeDisk", Params(("capacity", grown)), create: false))
                    {
                        return;
                    }

                    disk.Size = grown;
                }
                else if (roll < 50 || (roll < 65 && disk.Snapshots.Count == 0))
                {
                    var snapshot = $"snap-{Interlocked.Increment(ref _names)}";
                    if (!await RunAsync(disk.Name, "createDiskInternalSnapshot", Params(("snapshotname", snapshot)), create: false))
                    {
                        return;
                    }

                    disk.Snapshots.Add(snapshot);
                }
                else if (roll < 65)
                {
                    var snapshot = disk.Snapshots[Random.Shared.Next(disk.Snapshots.Count)];
                    if (!await RunAsync(disk.Name, "deleteDiskInternalSnapshot", Params(("snapshotname", snapshot)), create: false))
                    {
                        return;
                    }

                    disk.Snapshots.Remove(snapshot);
                }
                else if (roll < 80)
                {
                    var clone = new ExpectedVolume($"{prefix}-c{Interlocked.Increment(ref _names)}", disk.Size);
                    if (!await RunAsync(disk.Name, "cloneDisk", Params(("newname", clone.Name), ("format", "qcow2")), create: false))
                    {
                        return;
                    }

                    lock (_gate)
                    {
                        _volumes.Add(clone.Name, clone);
                        _clones.Enqueue(clone);
                    }
                }
                else
                {
                    if (!await RunAsync(disk.Name, "deleteDisk", Params(), create: false))
                    {
                        return;
                    }

                    lock (_gate)
                    {
                        _volumes.Remove(disk.Name);
                    }

                    disk = null;
                }
            }
        }

        /// <summary>Writes one request (a new object, or a merge patch of spec.lifecycle and the event-ID label) and waits for its end; false when it failed.</summary>
        private async Task<bool> RunAsync(string name, string operation, JsonObject parameters, bool create)
        {
            var eventId = $"{prefix}-r{Interlocked.Increment(ref _requests)}";
            var request = ledger.Expect(name, operation, eventId);
            if (create)
            {
                await cluster.ApplyAsync(Kinds.VirtualMachineDisk, name, operation, parameters, eventId);
            }
            else
            {
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = new JsonObject { [Labels.EventId] = eventId } },
                    ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { [operation] = parameters } },
                };
                await cluster.Client.CustomObjects.PatchNamespacedCustomObjectAsync<KubeStackResource>(
                    new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), DiskResource.Group, DiskResource.Version, "default", DiskResource.Plural, name);
            }

            await request.Done.Task.WaitAsync(RequestTimeout);
            if (request.Deleted || request.Terminal == RequestPhase.Succeeded)
            {
                return true;
            }

            lock (_gate)
            {
                Failures.Add($"{name}: {operation} ({eventId}) ended {request.Terminal}: {request.Message}");
            }

            return false;
        }

        private JsonObject Params(params (string Key, object Value)[] values)
        {
            var p = new JsonObject { ["type"] = "localfs", ["pool"] = poolName };
            foreach (var (key, value) in values)
            {
                p[key] = value is long n ? n.ToString(CultureInfo.InvariantCulture) : (string)value;
            }

            return p;
        }

        private static long MiB(int n) => (long)n << 20;
    }
}
