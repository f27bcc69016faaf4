using k8s;
using k8s.Models;

namespace KubeStack.Runtime.Informers;

/// <summary>The two calls an informer needs: a consistent list, and a watch from a resourceVersion.</summary>
public interface IListWatcher<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Lists every object (following continue tokens) and returns the list's resourceVersion.</summary>
    Task<ListResult<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/>. Ends normally when the server closes the stream.
    /// Throws <see cref="ResourceVersionExpiredException"/> when the version is too old (HTTP 410 or an ERROR
    /// event with code 410) and <see cref="KubeApiException"/> for other errors.
    /// </summary>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, CancellationToken cancellationToken);
}

public sealed record ListResult<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>One watch event. <see cref="Object"/> is null for bookmarks, which only carry a resourceVersion.</summary>
public sealed record WatchEvent<T>(WatchEventType Type, T? Object, string ResourceVersion);

/// <summary>The requested resourceVersion is older than the server keeps (410 Gone): the client must re-list.</summary>
public sealed class ResourceVersionExpiredException : Exception
{
    public ResourceVersionExpiredException() : base("The resourceVersion is too old (410 Gone); a new list is needed.")
    {
    }

    public ResourceVersionExpiredException(string message) : base(message)
    {
    }

    public ResourceVersionExpiredException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
