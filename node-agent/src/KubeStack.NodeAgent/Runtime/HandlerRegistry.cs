namespace KubeStack.NodeAgent.Runtime;

/// <summary>Maps (kind, lifecycle key) to its handler, and a kind to its cleanup and observed-state reader.</summary>
public sealed class HandlerRegistry
{
    private readonly Dictionary<(string Kind, string Key), ILifecycleHandler> _handlers = [];
    private readonly Dictionary<string, IObjectCleanup> _cleanups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IObservedStateReader> _readers = new(StringComparer.Ordinal);

    public HandlerRegistry(IEnumerable<ILifecycleHandler> handlers, IEnumerable<IObjectCleanup>? cleanups = null,
        IEnumerable<IObservedStateReader>? readers = null)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        foreach (var handler in handlers)
        {
            if (!_handlers.TryAdd((handler.Kind, handler.Key), handler))
            {
                throw new InvalidOperationException(
                    $"Two handlers are registered for {handler.Kind}.{handler.Key}: {_handlers[(handler.Kind, handler.Key)].GetType().Name} and {handler.GetType().Name}.");
            }
        }

        foreach (var cleanup in cleanups ?? [])
        {
            if (!_cleanups.TryAdd(cleanup.Kind, cleanup))
            {
                throw new InvalidOperationException($"Two cleanups are registered for kind {cleanup.Kind}.");
            }
        }

        foreach (var reader in readers ?? [])
        {
            if (!_readers.TryAdd(reader.Kind, reader))
            {
                throw new InvalidOperationException($"Two observed-state readers are registered for kind {reader.Kind}.");
            }
        }
    }

    public ILifecycleHandler? Find(string kind, string key) => _handlers.GetValueOrDefault((kind, key));

    public IObjectCleanup? Cleanup(string kind) => _cleanups.GetValueOrDefault(kind);

    public IObservedStateReader? Reader(string kind) => _readers.GetValueOrDefault(kind);

    /// <summary>The (kind, key) pairs this node can run.</summary>
    public IReadOnlyCollection<(string Kind, string Key)> Operations => _handlers.Keys;
}
