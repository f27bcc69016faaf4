using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Operator.Hosting;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace KubeStack.Reliability.Tests;

/// <summary>
/// Two operator replicas (the real leader election and request controller, in-process) and the agent's controller on
/// one API emulator; the API is paused for longer than the leader Lease while requests are in flight, then resumed.
/// Every leadership change, every API write of each replica and every committed version of the Lease is recorded on
/// one clock, and checked: never two leaders acting at once, the Lease consistent, no request lost or run twice, and
/// everything recovers by itself.
/// </summary>
public sealed class LeaderLeaseTests(ITestOutputHelper output)
{
    // The chart's ratios (leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s) scaled to a 3 s Lease.
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RetryPeriod = TimeSpan.FromMilliseconds(400);
    // Longer than the Lease (2.67×; 20 s in soak) and than the agent's API timeout below.
    private static readonly TimeSpan PauseLength = TimeSpan.FromSeconds(Soak.Scale(8, 20));
    private static readonly TimeSpan AgentApiTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private const string LeaseNamespace = "kube-system";
    private const string LeaseName = "kubestack-operator-lease-test";

    [Fact]
    public async Task An_API_pause_longer_than_the_leader_lease_never_leaves_two_leaders_acting_and_every_request_ends_once()
    {
        var agentTimeouts = new TimeoutCounter();
        await using var cluster = await FaultCluster.StartAsync(agentClient: api =>
            new Kubernetes(new KubernetesClientConfiguration { Host = api.BaseUrl, HttpClientTimeout = AgentApiTimeout }, agentTimeouts));
        var timeline = new Timeline();
        cluster.Api.AdmissionHooks.Add(new AdmittedEvents(timeline));
        using var heartbeat = new NodeHeartbeat(cluster.AgentClient, new AgentOptions { NodeName = FaultCluster.Node }, NullLogger<NodeHeartbeat>.Instance);
        await heartbeat.StartAsync(CancellationToken.None);
        using var leaseWatch = new CancellationTokenSource();
        var leaseObserver = timeline.ObserveLeaseAsync(cluster.Api.CreateClient(), LeaseNamespace, LeaseName, leaseWatch.Token);
        await using var one = OperatorReplica.Start(cluster.Api, "replica-1", timeline);
        await using var two = OperatorReplica.Start(cluster.Api, "replica-2", timeline);
        OperatorReplica[] replicas = [one, two];
        await AwaitAsync(() => replicas.Count(r => r.IsLeader) == 1, "one of the two replicas to lead");

        // The pause starts when the 12th request is terminal (tied to progress: the other objects' requests are in
        // flight), lasts longer than the Lease and at least until the leader has stepped down, then the API resumes.
        OperatorReplica? pausedLeader = null;
        TimeSpan pausedAt = default, resumedAt = default;
        var pausing = Task.CompletedTask;
        var paused = 0;
        var stream = RequestStream.RunAsync(cluster, objects: Soak.Scale(12, 40), requestsPerObject: Soak.Scale(4, 10), "lease", Wait, afterEachRequest: done =>
        {
            if (done == 12 && Interlocked.Exchange(ref paused, 1) == 0)
            {
                pausing = Task.Run(async () =>
                {
                    await AwaitAsync(() => replicas.Count(r => r.IsLeader) == 1, "one leader before the pause");
                    pausedLeader = replicas.Single(r => r.IsLeader);
                    var stepDowns = pausedLeader.Terms.Count(t => t.Stop is not null);
                    cluster.Api.Faults.Pause();
                    pausedAt = timeline.Now;
                    // An unresponsive API server also loses its watch streams: every client must watch again, through the pause.
                    cluster.Api.Faults.DropAllWatches();
                    try
                    {
                        await Task.Delay(PauseLength);
                        await AwaitAsync(() => pausedLeader.Terms.Count(t => t.Stop is not null) > stepDowns, "the leader to step down while the API is paused");
                    }
                    finally
                    {
                        resumedAt = timeline.Now;
                        cluster.Api.Faults.Resume();
                    }
                });
            }

            return Task.CompletedTask;
        });
        var submitted = await stream;
        await pausing;
        Assert.Equal(1, paused);

        // Recovery: exactly one leader, and it is the Lease's holder.
        await AwaitAsync(() => replicas.Count(r => r.IsLeader) == 1 && timeline.LastLease?.Holder == replicas.Single(r => r.IsLeader).Identity,
            "exactly one leader holding the Lease after the resume");
        var leader = replicas.Single(r => r.IsLeader);

        // A new request after the pause is routed by the leader (the object has no host label yet) and Succeeds.
        var fresh = await SubmitUnroutedAsync(cluster, "lease-after", "suspendVM", "lease-after-r0");
        Assert.Equal(RequestPhase.Succeeded, fresh.Status!.Lifecycle!.Phase);
        Assert.Equal(FaultCluster.Node, fresh.Metadata.Labels[Labels.Host]);
        Assert.Equal(["lease-after-r0"], cluster.Host.Applied("lease-after"));
        Assert.Contains(timeline.Writes, w => w.Replica == leader.Identity && w.Succeeded && w.Path.Contains("/virtualmachines/lease-after/status", StringComparison.Ordinal));

        // The other replica recovered too: when the leader stops (without releasing the Lease, as a killed process), it
        // takes over (leaseTransitions + 1) and routes the next request.
        var follower = replicas.Single(r => r != leader);
        await leader.DisposeAsync();
        await AwaitAsync(() => follower.IsLeader, "the other replica to take over after the leader stopped");
        var failover = await SubmitUnroutedAsync(cluster, "lease-failover", "suspendVM", "lease-failover-r0");
        Assert.Equal(RequestPhase.Succeeded, failover.Status!.Lifecycle!.Phase);
        Assert.Contains(timeline.Writes, w => w.Replica == follower.Identity && w.Succeeded && w.Path.Contains("/virtualmachines/lease-failover/status", StringComparison.Ordinal));
        await AwaitAsync(() => timeline.LastLease?.Holder == follower.Identity, "the Lease to name the new leader");

        // The agent's controller outlived API calls that timed out (its timeout is shorter than the pause).
        Assert.True(agentTimeouts.Count > 0, "no API call of the agent ran into its timeout: the pause did not exceed the agent's timeouts");
        Assert.False(cluster.AgentRun!.IsCompleted, $"the agent controller stopped: {cluster.AgentRun.Exception?.GetBaseException().Message}");
        await RequestStream.AssertInvariantAsync(cluster, submitted);

        await one.DisposeAsync();
        await two.DisposeAsync();
        await heartbeat.StopAsync(CancellationToken.None);
        await leaseWatch.CancelAsync();
        await leaseObserver;

        output.WriteLine($"{submitted.Values.Sum(v => v.Count) + 2} requests; {agentTimeouts.Count} agent API calls timed out ({AgentApiTimeout.TotalSeconds:0} s) during the {(resumedAt - pausedAt).TotalSeconds:0.0} s pause");
        output.WriteLine(timeline.Describe(pausedAt, resumedAt));
        var violations = timeline.Check(LeaseDuration, pausedLeader!.Identity);
        Assert.True(violations.Count == 0, string.Join("\n", violations) + "\n" + timeline.Describe(pausedAt, resumedAt));
    }

    /// <summary>A VM with a host side and spec.nodeName but no host label: only the operator's routing hands it to the agent.</summary>
    private static async Task<KubeStackResource> SubmitUnroutedAsync(FaultCluster cluster, string name, string op, string eventId)
    {
        var resource = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachine));
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new KubeStackSpec { NodeName = FaultCluster.Node, Domain = new JsonObject { ["name"] = name } },
        };
        await cluster.Client.CustomObjects.CreateNamespacedCustomObjectAsync(obj, resource.Group, resource.Version, "default", resource.Plural);
        cluster.Host.Add(name);
        await cluster.SubmitAsync(name, op, eventId);
        return await cluster.WaitTerminalAsync(name, eventId, Wait);
    }

    private static async Task AwaitAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > Wait)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>One operator replica with its own API client, whose every call is recorded on the timeline.</summary>
    private sealed class OperatorReplica : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Kubernetes _client;
        private readonly OperatorRuntime _runtime;
        private readonly Task _run;
        private readonly ConcurrentQueue<Term> _terms = new();

        private OperatorReplica(ApiEmulator.ApiEmulator api, string identity, Timeline timeline)
        {
            Identity = identity;
            _client = new Kubernetes(new KubernetesClientConfiguration { Host = api.BaseUrl }, new RecordingHandler(identity, timeline));
            _runtime = new OperatorRuntime(_client, new OperatorOptions
            {
                Identity = identity,
                WebhookEnabled = false,
                LeaderNamespace = LeaseNamespace,
                LeaderLease = LeaseName,
                LeaseDuration = LeaseDuration,
                RenewDeadline = RenewDeadline,
                RetryPeriod = RetryPeriod,
                LivenessCheckPeriod = TimeSpan.FromSeconds(1),
            }, NullLoggerFactory.Instance);
            _runtime.Leader.StartedLeading += () =>
            {
                var term = new Term(identity, timeline.Now);
                _terms.Enqueue(term);
                timeline.Add(term);
            };
            _runtime.Leader.StoppedLeading += () =>
            {
                foreach (var term in _terms.Where(t => t.Stop is null))
                {
                    term.Stop = timeline.Now;
                    term.EndedByTest = _stop.IsCancellationRequested;
                }
            };
            _run = _runtime.RunAsync(_stop.Token);
        }

        public string Identity { get; }

        public bool IsLeader => _runtime.Leader.IsLeader;

        public IReadOnlyCollection<Term> Terms => _terms;

        public static OperatorReplica Start(ApiEmulator.ApiEmulator api, string identity, Timeline timeline) => new(api, identity, timeline);

        public async ValueTask DisposeAsync()
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            await _stop.CancelAsync();
            try
            {
                await _run.WaitAsync(Wait);
            }
            catch (OperationCanceledException)
            {
            }

            await _runtime.DisposeAsync();
            _client.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>Counts the agent's API calls that were cancelled after running for the whole HTTP timeout.</summary>
    private sealed class TimeoutCounter : DelegatingHandler
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (OperationCanceledException) when (Stopwatch.GetElapsedTime(started) >= AgentApiTimeout - TimeSpan.FromMilliseconds(100))
            {
                Interlocked.Increment(ref _count);
                throw;
            }
        }
    }

    /// <summary>Records every call of one replica's client: method, path, when it was sent and answered, and how.</summary>
    private sealed class RecordingHandler(string replica, Timeline timeline) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get || cancellationToken.IsCancellationRequested)
            {
                // reads are not actions; a call whose token is already cancelled never leaves the process
                return await base.SendAsync(request, cancellationToken);
            }

            var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            var call = new ApiWrite(replica, request.Method.Method, request.RequestUri!.AbsolutePath, timeline.Now, body);
            timeline.Add(call);
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                call.End(timeline.Now, (int)response.StatusCode, null);
                return response;
            }
            catch (Exception ex)
            {
                call.End(timeline.Now, null, ex.GetType().Name);
                throw;
            }
        }
    }

    internal sealed class Term(string replica, TimeSpan start)
    {
        public string Replica { get; } = replica;
        public TimeSpan Start { get; } = start;
        public TimeSpan? Stop { get; set; }
        /// <summary>The term ended because the test stopped the replica, not because the Lease was lost.</summary>
        public bool EndedByTest { get; set; }
    }

    internal sealed class ApiWrite(string replica, string method, string path, TimeSpan sent, string? body)
    {
        public string Replica { get; } = replica;
        public string Method { get; } = method;
        public string Path { get; } = path;
        public TimeSpan Sent { get; } = sent;
        public string? Body { get; } = body;
        public TimeSpan? Ended { get; private set; }
        public int? Status { get; private set; }
        public string? Error { get; private set; }
        public bool Succeeded => Status is >= 200 and < 300;
        public bool IsLease => Path.Contains("/leases/", StringComparison.Ordinal) || Path.EndsWith("/leases", StringComparison.Ordinal);

        public void End(TimeSpan ended, int? status, string? error) => (Ended, Status, Error) = (ended, status, error);

        public override string ToString() =>
            $"{Sent.TotalSeconds,8:0.000}-{Ended?.TotalSeconds,8:0.000} {Replica} {Method} {Path} -> {Status?.ToString() ?? Error ?? "(pending)"}";
    }

    /// <summary>Server side: the moment the API server stores an Event a replica reports (its reportingInstance).</summary>
    private sealed class AdmittedEvents(Timeline timeline) : IAdmissionHook
    {
        public ValueTask ValidateAsync(AdmissionRequest request, CancellationToken ct)
        {
            if (request.Resource.Plural == "events" && request.Object?["reportingInstance"] is JsonValue instance && instance.GetValueKind() == System.Text.Json.JsonValueKind.String)
            {
                timeline.Admitted(instance.GetValue<string>(), $"{request.Operation} Event {request.Name}");
            }

            return ValueTask.CompletedTask;
        }
    }

    internal sealed record ServerWrite(TimeSpan At, string Instance, string What);

    internal sealed record LeaseVersion(TimeSpan Seen, string? Holder, int Transitions, DateTime? RenewTime, string ResourceVersion);

    /// <summary>Everything on one clock: leadership terms, API writes of the replicas, committed Lease versions.</summary>
    internal sealed class Timeline
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<Term> _terms = new();
        private readonly ConcurrentQueue<ApiWrite> _writes = new();
        private readonly ConcurrentQueue<LeaseVersion> _lease = new();
        private readonly ConcurrentQueue<ServerWrite> _admitted = new();

        public TimeSpan Now => _clock.Elapsed;

        public IReadOnlyCollection<ApiWrite> Writes => _writes;

        public LeaseVersion? LastLease => _lease.LastOrDefault();

        public void Add(Term term) => _terms.Enqueue(term);

        public void Add(ApiWrite write) => _writes.Enqueue(write);

        public void Admitted(string instance, string what) => _admitted.Enqueue(new ServerWrite(Now, instance, what));

        /// <summary>Watches the leader Lease and records every version the API server committed, in order.</summary>
        public async Task ObserveLeaseAsync(Kubernetes client, string ns, string name, CancellationToken ct)
        {
            var informer = new Informer<V1Lease>(new KubernetesListWatcher<V1Lease>(client, new ApiResource("coordination.k8s.io", "v1", "leases", "Lease"), ns),
                new InformerOptions { Name = "leader-lease" });
            informer.AddHandler(evt =>
            {
                if (evt.Type != InformerEventType.Deleted && evt.Object.Metadata.Name == name)
                {
                    var spec = evt.Object.Spec;
                    _lease.Enqueue(new LeaseVersion(Now, spec.HolderIdentity, spec.LeaseTransitions ?? 0, spec.RenewTime, evt.Object.Metadata.ResourceVersion));
                }
            });
            try
            {
                await informer.RunAsync(ct);
            }
            finally
            {
                client.Dispose();
            }
        }

        /// <summary>The violations of the leadership rules (empty when they all hold).</summary>
        public List<string> Check(TimeSpan leaseDuration, string pausedLeader)
        {
            var violations = new List<string>();
            var terms = _terms.OrderBy(t => t.Start).ToList();
            var writes = _writes.ToList();

            // 1. Terms never overlap: a leader steps down before the next one starts.
            for (var i = 1; i < terms.Count; i++)
            {
                if (terms[i - 1].Stop is not { } stop || stop > terms[i].Start)
                {
                    violations.Add($"{terms[i].Replica} started leading at {terms[i].Start.TotalSeconds:0.000}s while {terms[i - 1].Replica} (since {terms[i - 1].Start.TotalSeconds:0.000}s) had not stopped ({terms[i - 1].Stop?.TotalSeconds:0.000}).");
                }
            }

            // 2. A leader that lost its Lease stopped before the Lease could have been taken over: before its last
            //    successful renewal (as sent) + the Lease duration.
            foreach (var term in terms.Where(t => t.Stop is not null && !t.EndedByTest))
            {
                var renewals = writes.Where(w => w.Replica == term.Replica && w.IsLease && w.Succeeded && w.Ended <= term.Stop).ToList();
                if (renewals.Count == 0)
                {
                    violations.Add($"{term.Replica}: a term without a successful Lease write.");
                    continue;
                }

                var lastRenewal = renewals.Max(w => w.Sent);
                if (term.Stop >= lastRenewal + leaseDuration)
                {
                    violations.Add($"{term.Replica} stopped leading at {term.Stop.Value.TotalSeconds:0.000}s, after its Lease (last renewed at {lastRenewal.TotalSeconds:0.000}s) could have been taken over.");
                }
            }

            if (!terms.Any(t => t.Replica == pausedLeader && t.Stop is not null && !t.EndedByTest))
            {
                violations.Add($"{pausedLeader} led when the API was paused but never stepped down.");
            }

            // 3. Every write of a replica (other than its Lease) was sent while it led, and one that the API server
            //    accepted was answered before another replica started to lead.
            foreach (var write in writes.Where(w => !w.IsLease))
            {
                var term = terms.LastOrDefault(t => t.Replica == write.Replica && t.Start <= write.Sent);
                if (term is null || term.Stop < write.Sent)
                {
                    violations.Add($"acted while not leading: {write}");
                    continue;
                }

                var next = terms.FirstOrDefault(t => t.Replica != write.Replica && t.Start >= term.Start);
                if (write.Succeeded && next is not null && write.Ended > next.Start)
                {
                    violations.Add($"a write accepted after {next.Replica} started leading at {next.Start.TotalSeconds:0.000}s: {write}");
                }
            }

            //    On the server side too: an Event a replica reports is stored while that replica leads, never after
            //    another replica has started to lead (a write held by the paused server must not land later).
            foreach (var admitted in _admitted.Where(a => terms.Any(t => t.Replica == a.Instance)))
            {
                var term = terms.LastOrDefault(t => t.Replica == admitted.Instance && t.Start <= admitted.At);
                var next = term is null ? null : terms.FirstOrDefault(t => t.Replica != admitted.Instance && t.Start >= term.Start);
                if (term is null || (next is not null && next.Start <= admitted.At))
                {
                    violations.Add($"the API server stored {admitted.What} from {admitted.Instance} at {admitted.At.TotalSeconds:0.000}s, outside its leadership.");
                }
            }

            // 4. One campaign per replica: a replica never has two Lease writes in flight at once (piled-up or orphaned
            //    attempts would decide on one read of the Lease and write over another).
            foreach (var group in writes.Where(w => w.IsLease).GroupBy(w => w.Replica))
            {
                var ordered = group.OrderBy(w => w.Sent).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    if (ordered[i - 1].Ended is not { } ended || ended > ordered[i].Sent)
                    {
                        violations.Add($"two Lease writes of {group.Key} in flight at once: {ordered[i - 1]} and {ordered[i]}");
                    }
                }
            }

            // 5. The Lease history: leaseTransitions goes up by one exactly when the holder changes.
            var versions = _lease.ToList();
            for (var i = 1; i < versions.Count; i++)
            {
                var (before, after) = (versions[i - 1], versions[i]);
                var expected = before.Holder == after.Holder ? before.Transitions : before.Transitions + 1;
                if (after.Transitions != expected)
                {
                    violations.Add($"Lease version {after.ResourceVersion}: holder {before.Holder} -> {after.Holder}, leaseTransitions {before.Transitions} -> {after.Transitions} (expected {expected}).");
                }
            }

            return violations;
        }

        public string Describe(TimeSpan pausedAt, TimeSpan resumedAt)
        {
            var lines = new List<string> { $"API paused {pausedAt.TotalSeconds:0.000}s - {resumedAt.TotalSeconds:0.000}s" };
            lines.AddRange(_terms.OrderBy(t => t.Start).Select(t => $"term {t.Replica}: {t.Start.TotalSeconds:0.000}s - {t.Stop?.TotalSeconds:0.000}s{(!t.EndedByTest ? "" : " (stopped by the test)")}"));
            lines.AddRange(_lease.Select(v => $"lease rv {v.ResourceVersion} seen {v.Seen.TotalSeconds:0.000}s: holder {v.Holder}, transitions {v.Transitions}, renewTime {v.RenewTime:HH:mm:ss.fff}"));
            var writes = _writes.ToList();
            lines.Add($"{_admitted.Count(a => a.Instance.StartsWith("replica-", StringComparison.Ordinal))} Events of the replicas stored by the API server");
            lines.Add($"{writes.Count} writes: {writes.Count(w => w.IsLease)} to the Lease, {writes.Count(w => !w.IsLease && w.Succeeded)} accepted controller writes, {writes.Count(w => w.Status is null)} abandoned");
            lines.AddRange(writes.Where(w => w.IsLease && (w.Sent >= pausedAt - TimeSpan.FromSeconds(3)) && w.Sent <= resumedAt + TimeSpan.FromSeconds(5)).Select(w => "  " + w));
            return string.Join("\n", lines);
        }
    }
}
