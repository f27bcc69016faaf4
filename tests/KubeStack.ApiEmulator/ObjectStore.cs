using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace KubeStack.ApiEmulator;

/// <summary>A change recorded in the bounded history that watches resume from.</summary>
internal sealed record StoredEvent(long Rv, string StorageKey, string Type, JsonObject Object, JsonObject? OldObject);

/// <summary>One event sent on a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.</summary>
public sealed record WatchEvent(string Type, JsonObject Object);

/// <summary>A registered watch: receives the events of one resource that pass its filter.</summary>
internal sealed class Watcher
{
    public required string StorageKey { get; init; }
    public required Func<JsonObject, bool> Matches { get; init; }
    public required Func<JsonObject, JsonObject> Present { get; init; }
    public Channel<WatchEvent> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchEvent>(); // multi-reader flavour: it can Count (for bookmarks)
    /// <summary>The highest resourceVersion this watcher has been sent (for bookmarks).</summary>
    public long LastRv { get; set; }

    /// <summary>
    /// Turns a stored change into the event this watcher sees. Mirrors the watch cache: an object that starts
    /// matching the selector arrives as ADDED, one that stops matching as DELETED (carrying the new resourceVersion).
    /// </summary>
    public WatchEvent? Translate(StoredEvent e)
    {
        if (e.StorageKey != StorageKey) return null;
        bool now = e.Type != "DELETED" && Matches(e.Object);
        bool before = e.Type == "DELETED" ? Matches(e.Object) : e.OldObject is not null && Matches(e.OldObject);
        if (e.Type == "DELETED") return before ? new WatchEvent("DELETED", Present(e.Object)) : null;
        if (now && before) return new WatchEvent("MODIFIED", Present(e.Object));
        if (now) return new WatchEvent("ADDED", Present(e.Object));
        if (before)
        {
            var old = (JsonObject)e.OldObject!.DeepClone();
            Meta.Metadata(old)["resourceVersion"] = e.Rv.ToString(CultureInfo.InvariantCulture);
            return new WatchEvent("DELETED", Present(old));
        }
        return null;
    }

    public void Send(WatchEvent ev, long rv)
    {
        LastRv = Math.Max(LastRv, rv);
        Channel.Writer.TryWrite(ev);
    }
}

/// <summary>
/// The in-memory object store: one global resourceVersion counter (like etcd's revision), a bounded history of
/// changes for watch resume, and the registered watches. All writes go through one lock, so each write gets a
/// strictly increasing resourceVersion and every watch sees changes in that order.
/// </summary>
public sealed class ObjectStore
{
    readonly Lock _gate = new();
    readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    readonly LinkedList<StoredEvent> _history = new();
    readonly List<Watcher> _watchers = [];
    long _rv = 1;
    long _historyStart = 1;

    /// <summary>How many changes the history keeps; a watch from an older resourceVersion gets 410 Gone.</summary>
    public int HistoryWindow { get; set; } = 1000;

    public long CurrentRv { get { lock (_gate) return _rv; } }

    /// <summary>etcd's default request size limit (--max-request-bytes, 1.5 MiB): a larger object cannot be stored.</summary>
    public const int MaxObjectBytes = 1_572_864;

    static void CheckSize(JsonObject obj)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(obj.ToJsonString()) > MaxObjectBytes)
            throw new ApiError(500, "InternalError", "etcdserver: request is too large");
    }

    static string Key(string? ns, string name) => $"{ns}/{name}";

    SortedDictionary<string, JsonObject> Bucket(string storageKey)
    {
        if (!_objects.TryGetValue(storageKey, out var b))
            _objects[storageKey] = b = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        return b;
    }

    public JsonObject? Get(string storageKey, string? ns, string name)
    {
        lock (_gate)
            return Bucket(storageKey).TryGetValue(Key(ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
    }

    /// <summary>All objects of a resource (optionally in one namespace), sorted by namespace/name, with the store's resourceVersion.</summary>
    public (List<JsonObject> Items, long Rv) List(string storageKey, string? ns)
    {
        lock (_gate)
        {
            var items = Bucket(storageKey).Values
                .Where(o => ns is null || Meta.Namespace(o) == ns)
                .Select(o => (JsonObject)o.DeepClone()).ToList();
            return (items, _rv);
        }
    }

    public bool AnyInNamespace(string ns)
    {
        lock (_gate)
            return _objects.Values.Any(b => b.Values.Any(o => Meta.Namespace(o) == ns));
    }

    /// <summary>Stores a new object; 409 AlreadyExists when the name is taken.</summary>
    internal JsonObject Create(ResourceType t, string? ns, string name, JsonObject obj)
    {
        lock (_gate)
        {
            var b = Bucket(t.StorageKey);
            if (b.ContainsKey(Key(ns, name))) throw ApiError.AlreadyExists(t.Plural, t.Group, name);
            CheckSize(obj);
            var rv = ++_rv;
            Meta.Metadata(obj)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            b[Key(ns, name)] = (JsonObject)obj.DeepClone();
            Record(new StoredEvent(rv, t.StorageKey, "ADDED", (JsonObject)obj.DeepClone(), null));
            return obj;
        }
    }

    /// <summary>
    /// Replaces an object when its stored resourceVersion is still <paramref name="expectedRv"/>
    /// (optimistic concurrency, like etcd's compare-and-swap); 409 Conflict otherwise.
    /// </summary>
    internal JsonObject Update(ResourceType t, string? ns, string name, string expectedRv, JsonObject obj)
    {
        lock (_gate)
        {
            var b = Bucket(t.StorageKey);
            if (!b.TryGetValue(Key(ns, name), out var cur)) throw ApiError.NotFound(t.Plural, t.Group, name);
            if (Meta.ResourceVersion(cur) != expectedRv) throw ApiError.StaleConflict(t.Plural, t.Group, name);
            CheckSize(obj);
            var rv = ++_rv;
            Meta.Metadata(obj)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            b[Key(ns, name)] = (JsonObject)obj.DeepClone();
            Record(new StoredEvent(rv, t.StorageKey, "MODIFIED", (JsonObject)obj.DeepClone(), cur));
            return obj;
        }
    }

    /// <summary>Removes an object whose stored resourceVersion is still <paramref name="expectedRv"/>; returns it with the deletion's resourceVersion.</summary>
    internal JsonObject Delete(ResourceType t, string? ns, string name, string? expectedRv)
    {
        lock (_gate)
        {
            var b = Bucket(t.StorageKey);
            if (!b.TryGetValue(Key(ns, name), out var cur)) throw ApiError.NotFound(t.Plural, t.Group, name);
            if (expectedRv is not null && Meta.ResourceVersion(cur) != expectedRv) throw ApiError.StaleConflict(t.Plural, t.Group, name);
            b.Remove(Key(ns, name));
            var rv = ++_rv;
            var gone = (JsonObject)cur.DeepClone();
            Meta.Metadata(gone)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
            Record(new StoredEvent(rv, t.StorageKey, "DELETED", (JsonObject)gone.DeepClone(), cur));
            return gone;
        }
    }

    void Record(StoredEvent e)
    {
        _history.AddLast(e);
        while (_history.Count > Math.Max(1, HistoryWindow))
        {
            _historyStart = _history.First!.Value.Rv;
            _history.RemoveFirst();
        }
        foreach (var w in _watchers)
            if (w.Translate(e) is { } ev) w.Send(ev, e.Rv);
    }

    /// <summary>
    /// Registers a watch. Without a resourceVersion (or "0") the current objects arrive first as synthetic ADDED events;
    /// from resourceVersion N, every change after N is replayed from the history, or 410 Gone when N is older than the window.
    /// </summary>
    internal Watcher Watch(string storageKey, string? resourceVersion, Func<JsonObject, bool> matches, Func<JsonObject, JsonObject> present, bool initialEvents)
    {
        var w = new Watcher { StorageKey = storageKey, Matches = matches, Present = present };
        lock (_gate)
        {
            if (string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0" || initialEvents)
            {
                foreach (var o in Bucket(storageKey).Values)
                    if (matches(o)) w.Send(new WatchEvent("ADDED", present((JsonObject)o.DeepClone())), long.Parse(Meta.ResourceVersion(o), CultureInfo.InvariantCulture));
                w.LastRv = _rv;
            }
            else
            {
                if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                    throw ApiError.BadRequest($"invalid resource version: {resourceVersion}");
                if (from < _historyStart)
                    throw ApiError.Gone($"too old resource version: {from} ({_historyStart})");
                foreach (var e in _history)
                    if (e.Rv > from && w.Translate(e) is { } ev) w.Send(ev, e.Rv);
                w.LastRv = Math.Max(w.LastRv, Math.Min(from, _rv));
            }
            _watchers.Add(w);
        }
        return w;
    }

    /// <summary>The resourceVersion a bookmark may carry: everything up to it has been delivered to the watcher.</summary>
    internal long BookmarkRv(Watcher w)
    {
        lock (_gate)
        {
            if (w.Channel.Reader.Count == 0) w.LastRv = Math.Max(w.LastRv, _rv);
            return w.LastRv;
        }
    }

    internal void Unwatch(Watcher w)
    {
        lock (_gate) _watchers.Remove(w);
        w.Channel.Writer.TryComplete();
    }

    /// <summary>Ends every open watch stream (the client sees the connection close and must re-watch).</summary>
    public int DropAllWatches()
    {
        List<Watcher> all;
        lock (_gate) { all = [.. _watchers]; _watchers.Clear(); }
        foreach (var w in all) w.Channel.Writer.TryComplete();
        return all.Count;
    }

    /// <summary>Forgets the change history (like an apiserver restart after etcd compaction): every older resourceVersion now gets 410 Gone.</summary>
    public void ResetHistory(int? newWindow = null)
    {
        lock (_gate)
        {
            if (newWindow is { } n) HistoryWindow = n;
            _history.Clear();
            _historyStart = _rv;
        }
        DropAllWatches();
    }
}
