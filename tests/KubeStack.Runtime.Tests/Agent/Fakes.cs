using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Api;
using KubeStack.Runtime.Events;

namespace KubeStack.Runtime.Tests.Agent;

/// <summary>
/// An in-memory <see cref="IObjectApi"/> with the API server rules the state machine relies on: resourceVersion on
/// every write and 409 on a stale one, generation bumped by spec changes only, status written only through the status
/// call, merge patches, finalizers holding a delete. It counts writes.
/// </summary>
internal sealed class FakeObjectApi : IObjectApi
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceKey, JsonObject> _objects = [];
    private long _resourceVersion = 100;

    public int StatusWrites { get; private set; }
    public int Patches { get; private set; }
    public int Deletes { get; private set; }
    public int Writes => StatusWrites + Patches + Deletes;

    /// <summary>How many upcoming status PUTs answer 409 (as if someone wrote just before).</summary>
    public int ConflictsOnStatus { get; set; }

    public KubeStackResource Create(KubeStackResource obj)
    {
        lock (_gate)
        {
            var node = ToNode(obj);
            var meta = (JsonObject)node["metadata"]!;
            meta["uid"] = Guid.NewGuid().ToString();
            meta["generation"] = 1L;
            meta["resourceVersion"] = NextVersion();
            meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
            _objects[KeyOf(obj)] = node;
            return FromNode(node);
        }
    }

    /// <summary>A user's edit of spec (kubectl apply): bumps generation when spec changes.</summary>
    public KubeStackResource Edit(ResourceKey key, Action<KubeStackResource> edit)
    {
        lock (_gate)
        {
            var current = FromNode(_objects[key]);
            edit(current);
            var node = ToNode(current);
            node["status"] = _objects[key]["status"]?.DeepClone();
            Store(key, node);
            return FromNode(_objects[key]);
        }
    }

    public KubeStackResource? Peek(ResourceKey key)
    {
        lock (_gate)
        {
            return _objects.TryGetValue(key, out var node) ? FromNode(node) : null;
        }
    }

    /// <summary>GETs served (the state machine's reads of the API, conflict re-reads included).</summary>
    public int Reads => Volatile.Read(ref _reads);

    private int _reads;

    public Task<KubeStackResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return Task.FromResult(Peek(key));
    }

    public async Task<StatusUpdate<KubeStackResource>> UpdateStatusAsync(ResourceKey key, Func<KubeStackResource, bool> mutate,
        KubeStackResource? current, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var latest = current ?? await GetAsync(key, cancellationToken);
            current = null;
            if (latest is null)
            {
                return new StatusUpdate<KubeStackResource>(null, false, attempt);
            }

            if (!mutate(latest))
            {
                return new StatusUpdate<KubeStackResource>(latest, false, attempt);
            }

            try
            {
                return new StatusUpdate<KubeStackResource>(ReplaceStatus(key, latest), true, attempt);
            }
            catch (KubeApiException ex) when (ex.IsConflict && attempt < 8)
            {
            }
        }
    }

    private KubeStackResource ReplaceStatus(ResourceKey key, KubeStackResource obj)
    {
        lock (_gate)
        {
            StatusWrites++;
            if (!_objects.TryGetValue(key, out var stored))
            {
                throw new KubeApiException(HttpStatusCode.NotFound, "NotFound", $"{key} not found");
            }

            if (ConflictsOnStatus > 0)
            {
                ConflictsOnStatus--;
                Touch(stored);
                throw new KubeApiException(HttpStatusCode.Conflict, "Conflict", "the object has been modified (injected)");
            }

            if (obj.Metadata.ResourceVersion != (string?)stored["metadata"]!["resourceVersion"])
            {
                throw new KubeApiException(HttpStatusCode.Conflict, "Conflict", "the object has been modified");
            }

            stored["status"] = ToNode(obj)["status"]?.DeepClone();
            Touch(stored);
            return FromNode(stored);
        }
    }

    public Task<KubeStackResource> PatchAsync(ResourceKey key, JsonObject mergePatch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Patches++;
            if (!_objects.TryGetValue(key, out var stored))
            {
                throw new KubeApiException(HttpStatusCode.NotFound, "NotFound", $"{key} not found");
            }

            var patch = (JsonObject)mergePatch.DeepClone();
            if (patch["metadata"] is JsonObject meta && meta.ContainsKey("resourceVersion"))
            {
                if ((string?)meta["resourceVersion"] != (string?)stored["metadata"]!["resourceVersion"])
                {
                    throw new KubeApiException(HttpStatusCode.Conflict, "Conflict", "the object has been modified");
                }

                meta.Remove("resourceVersion");
            }

            patch.Remove("status");
            var merged = (JsonObject)JsonMergePatch.Apply(stored, patch)!;
            merged["status"] = stored["status"]?.DeepClone();
            Store(key, merged);
            return Task.FromResult(_objects.TryGetValue(key, out var now) ? FromNode(now) : FromNode(merged));
        }
    }

    public Task<bool> DeleteAsync(ResourceKey key, string? uid, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Deletes++;
            if (!_objects.TryGetValue(key, out var stored))
            {
                return Task.FromResult(false);
            }

            if (uid is not null && uid != (string?)stored["metadata"]!["uid"])
            {
                throw new KubeApiException(HttpStatusCode.Conflict, "Conflict", "uid precondition failed");
            }

            if (stored["metadata"]!["finalizers"] is JsonArray { Count: > 0 })
            {
                stored["metadata"]!["deletionTimestamp"] ??= "2026-01-01T00:00:01Z";
                Touch(stored);
            }
            else
            {
                _objects.Remove(key);
            }

            return Task.FromResult(true);
        }
    }

    /// <summary>kubectl delete.</summary>
    public void UserDelete(ResourceKey key) => DeleteAsync(key, null, CancellationToken.None).GetAwaiter().GetResult();

    private void Store(ResourceKey key, JsonObject next)
    {
        var previous = _objects[key];
        var meta = (JsonObject)next["metadata"]!;
        if (!JsonNode.DeepEquals(previous["spec"], next["spec"]))
        {
            meta["generation"] = long.Parse(previous["metadata"]!["generation"]!.ToJsonString(), CultureInfo.InvariantCulture) + 1;
        }
        else
        {
            meta["generation"] = previous["metadata"]!["generation"]!.DeepClone();
        }

        Touch(next);
        if (meta["deletionTimestamp"] is not null && meta["finalizers"] is not JsonArray { Count: > 0 })
        {
            _objects.Remove(key);
            return;
        }

        _objects[key] = next;
    }

    private void Touch(JsonObject node) => node["metadata"]!["resourceVersion"] = NextVersion();

    private string NextVersion() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private static ResourceKey KeyOf(KubeStackResource obj) => new(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);

    private static JsonObject ToNode(KubeStackResource obj) => (JsonObject)JsonNode.Parse(KubernetesJson.Serialize(obj))!;

    private static KubeStackResource FromNode(JsonObject node) => KubernetesJson.Deserialize<KubeStackResource>(node.ToJsonString());
}

internal sealed class RecordingEvents : IEventRecorder
{
    private readonly ConcurrentDictionary<string, byte> _names = new(StringComparer.Ordinal);

    public ConcurrentQueue<(string Type, string Reason, string Message, string Name)> Events { get; } = new();

    public Task RecordAsync(IKubernetesObject<V1ObjectMeta> involved, string type, string reason, string message, CancellationToken cancellationToken)
    {
        Events.Enqueue((type, reason, message, involved.Metadata.Name));
        return Task.CompletedTask;
    }

    /// <summary>Named Events as the API server keeps them: a second create under a name that exists is AlreadyExists.</summary>
    public Task RecordOnceAsync(IKubernetesObject<V1ObjectMeta> involved, string name, string type, string reason, string message,
        CancellationToken cancellationToken)
    {
        if (_names.TryAdd(name, 0))
        {
            Events.Enqueue((type, reason, message, involved.Metadata.Name));
        }

        return Task.CompletedTask;
    }

    public IReadOnlyList<string> Reasons => Events.Select(e => e.Reason).ToList();
}

/// <summary>A handler driven by the test, which records what it saw.</summary>
internal sealed class FakeHandler(string kind, string key, Func<RequestContext, int, HandlerResult>? behave = null) : ILifecycleHandler
{
    private int _calls;

    public string Kind { get; } = kind;
    public string Key { get; } = key;
    public int Calls => Volatile.Read(ref _calls);
    public ConcurrentQueue<RequestContext> Seen { get; } = new();
    public Func<RequestContext, Task>? During { get; set; }

    public async Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        Seen.Enqueue(context);
        if (During is { } during)
        {
            await during(context);
        }

        return behave?.Invoke(context, call) ?? HandlerResult.Succeeded(new JsonObject { ["name"] = context.Name, ["format"] = "qcow2" });
    }
}

/// <summary>Simulates the process dying at a crash point: throws out of the state machine, which then writes nothing more.</summary>
internal sealed class ThrowingCrashInjector(string point) : ICrashInjector
{
    public void At(string point1)
    {
        if (point1 == point)
        {
            throw new SimulatedCrashException(point);
        }
    }
}

internal sealed class SimulatedCrashException(string point) : Exception($"simulated crash at {point}");

internal sealed class RecordingCleanup(string kind, HandlerResult? result = null) : IObjectCleanup
{
    public string Kind { get; } = kind;
    public int Calls { get; private set; }

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        Calls++;
        return Task.FromResult(result ?? HandlerResult.Succeeded());
    }
}
