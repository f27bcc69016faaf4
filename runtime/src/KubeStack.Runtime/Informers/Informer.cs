using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Runtime.Informers;

public enum InformerEventType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>
/// A change seen by an informer. <see cref="Old"/> is the cached object before a modification or a delete.
/// <see cref="Synthesized"/> marks a delete inferred after a re-list (the object vanished while the watch was down):
/// its <see cref="Object"/> is the last state the cache knew.
/// </summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Object, T? Old, bool Synthesized = false)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public string Key => ObjectKey.Of(Object);
}

public sealed class InformerOptions
{
    /// <summary>Name in logs (the resource, usually).</summary>
    public string Name { get; init; } = "informer";
    /// <summary>First delay after a failed list or watch.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Longest delay between attempts while the API server is unreachable.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Keeps an in-memory copy of a set of objects: lists, then watches from the list's resourceVersion; follows bookmarks;
/// on a dropped watch resumes from the last resourceVersion seen (with backoff); on 410 Gone re-lists and synthesizes
/// deletes for objects that vanished meanwhile. Handlers run on the watch loop and must only look at the event and
/// enqueue work (they must not block). Nothing should be reconciled before <see cref="HasSynced"/>.
/// </summary>
public sealed class Informer<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IListWatcher<T> _listWatcher;
    private readonly InformerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly List<Action<InformerEvent<T>>> _handlers = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _resourceVersion = "";
    private long _lists;
    private long _watches;

    public Informer(IListWatcher<T> listWatcher, InformerOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _listWatcher = listWatcher ?? throw new ArgumentNullException(nameof(listWatcher));
        _options = options ?? new InformerOptions();
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Name => _options.Name;

    /// <summary>True once the first list has been loaded into the cache.</summary>
    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>The last resourceVersion seen (list, event or bookmark).</summary>
    public string ResourceVersion => _resourceVersion;

    /// <summary>How many lists were made (1 + one per 410 Gone or failed list).</summary>
    public long ListCount => Interlocked.Read(ref _lists);

    /// <summary>How many watch requests were opened.</summary>
    public long WatchCount => Interlocked.Read(ref _watches);

    /// <summary>Registers a handler; call before <see cref="RunAsync"/>.</summary>
    public void AddHandler(Action<InformerEvent<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_handlers)
        {
            _handlers.Add(handler);
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    public bool TryGet(string key, out T? value) => _cache.TryGetValue(key, out value);

    public T? Get(string? @namespace, string name) => _cache.GetValueOrDefault(ObjectKey.Of(@namespace, name));

    public IReadOnlyCollection<T> List() => _cache.Values.ToList();

    public IReadOnlyCollection<string> Keys() => _cache.Keys.ToList();

    /// <summary>Runs list and watch until cancelled. Transient failures are retried forever with backoff.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(_options.MinBackoff, _options.MaxBackoff);
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    Interlocked.Increment(ref _lists);
                    var list = await _listWatcher.ListAsync(cancellationToken).ConfigureAwait(false);
                    Replace(list.Items);
                    _resourceVersion = list.ResourceVersion;
                    needList = false;
                    _synced.TrySetResult();
                    _logger.LogDebug("Informer {Informer} listed {Count} objects at resourceVersion {ResourceVersion}.",
                        _options.Name, list.Items.Count, list.ResourceVersion);
                }

                Interlocked.Increment(ref _watches);
                var events = 0;
                await foreach (var evt in _listWatcher.WatchAsync(_resourceVersion, cancellationToken).ConfigureAwait(false))
                {
                    Apply(evt);
                    events++;
                    backoff.Reset();
                }

                // The server closed the watch (its timeout, or a restart). Resume from the last version; pause a little
                // if the watch ended without a single event so a server that closes at once is not hammered.
                if (events == 0)
                {
                    await Task.Delay(backoff.Next(), _time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResourceVersionExpiredException ex)
            {
                _logger.LogInformation("Informer {Informer}: {Reason} Re-listing.", _options.Name, ex.Message);
                needList = true;
            }
            catch (Exception ex)
            {
                var delay = backoff.Next();
                _logger.LogWarning(ex, "Informer {Informer}: {Phase} failed; retrying in {Delay}.",
                    _options.Name, needList ? "list" : "watch", delay);
                try
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Apply(WatchEvent<T> evt)
    {
        if (!string.IsNullOrEmpty(evt.ResourceVersion))
        {
            _resourceVersion = evt.ResourceVersion;
        }

        if (evt.Object is not { } obj)
        {
            return; // bookmark
        }

        var key = ObjectKey.Of(obj);
        switch (evt.Type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                var had = _cache.TryGetValue(key, out var old);
                _cache[key] = obj;
                Notify(new InformerEvent<T>(had ? InformerEventType.Modified : InformerEventType.Added, obj, old));
                break;
            case WatchEventType.Deleted:
                _cache.TryRemove(key, out var last);
                Notify(new InformerEvent<T>(InformerEventType.Deleted, obj, last));
                break;
            default:
                break;
        }
    }

    /// <summary>Loads a full list: adds and updates what is listed, synthesizes deletes for what is gone.</summary>
    private void Replace(IReadOnlyList<T> items)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var obj in items)
        {
            var key = ObjectKey.Of(obj);
            listed.Add(key);
            if (_cache.TryGetValue(key, out var old))
            {
                _cache[key] = obj;
                if (old.Metadata?.ResourceVersion != obj.Metadata?.ResourceVersion)
                {
                    Notify(new InformerEvent<T>(InformerEventType.Modified, obj, old));
                }
            }
            else
            {
                _cache[key] = obj;
                Notify(new InformerEvent<T>(InformerEventType.Added, obj, null));
            }
        }

        foreach (var key in _cache.Keys.Where(k => !listed.Contains(k)).ToList())
        {
            if (_cache.TryRemove(key, out var gone))
            {
                Notify(new InformerEvent<T>(InformerEventType.Deleted, gone, gone, Synthesized: true));
            }
        }
    }

    private void Notify(InformerEvent<T> evt)
    {
        Action<InformerEvent<T>>[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }

        foreach (var handler in handlers)
        {
            try
            {
                handler(evt);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Informer {Informer}: a handler failed on {Type} {Key}.", _options.Name, evt.Type, evt.Key);
            }
        }
    }
}

/// <summary>Exponential backoff with full jitter in [d/2, d].</summary>
internal sealed class Backoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private TimeSpan _next;

    public Backoff(TimeSpan min, TimeSpan max)
    {
        _min = min;
        _max = max;
        _next = min;
    }

    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(_max.Ticks, current.Ticks * 2));
        var jittered = current.Ticks / 2 + (long)(Random.Shared.NextDouble() * (current.Ticks / 2));
        return TimeSpan.FromTicks(Math.Max(1, jittered));
    }

    public void Reset() => _next = _min;
}
