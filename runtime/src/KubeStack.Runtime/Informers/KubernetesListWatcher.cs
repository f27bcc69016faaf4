using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using KubeStack.Runtime.Api;

namespace KubeStack.Runtime.Informers;

/// <summary>List and watch of one resource type over HTTP, optionally filtered by namespace and label selector.</summary>
public sealed class KubernetesListWatcher<T> : IListWatcher<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly KubeHttp _http;
    private readonly ApiResource _resource;
    private readonly string? _namespace;
    private readonly string? _labelSelector;
    private readonly int _pageSize;
    private readonly TimeSpan _watchTimeout;

    /// <summary>Longest wait for one list page (an unresponsive server makes the informer retry with backoff).</summary>
    public TimeSpan ListPageTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <param name="client">The client whose transport and credentials are used.</param>
    /// <param name="resource">What to list.</param>
    /// <param name="namespace">One namespace, or null for all namespaces.</param>
    /// <param name="labelSelector">A label selector (<c>host=node1</c>), or null.</param>
    /// <param name="watchTimeout">How long the server keeps one watch open (it then closes it and we resume); default 5 min.</param>
    /// <param name="pageSize">List page size (<c>limit</c>).</param>
    public KubernetesListWatcher(Kubernetes client, ApiResource resource, string? @namespace = null, string? labelSelector = null,
        TimeSpan? watchTimeout = null, int pageSize = 500)
    {
        _http = new KubeHttp(client);
        _resource = resource ?? throw new ArgumentNullException(nameof(resource));
        _namespace = @namespace;
        _labelSelector = labelSelector;
        _pageSize = pageSize;
        _watchTimeout = watchTimeout ?? TimeSpan.FromMinutes(5);
    }

    public async Task<ListResult<T>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<T>();
        string? continueToken = null;
        while (true)
        {
            var query = Query(("limit", _pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("continue", continueToken));
            using var pageTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            pageTimeout.CancelAfter(ListPageTimeout);
            using var response = await _http.SendAsync(HttpMethod.Get, _resource.CollectionPath(_namespace) + query, null, pageTimeout.Token)
                .ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Gone && continueToken is not null)
            {
                // The continue token expired between pages: start over for a consistent snapshot.
                items.Clear();
                continueToken = null;
                continue;
            }

            await KubeHttp.EnsureSuccessAsync(response, $"List {_resource}", cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(pageTimeout.Token).ConfigureAwait(false);
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in array.EnumerateArray())
                {
                    var obj = KubernetesJson.Deserialize<T>(item.GetRawText());
                    if (obj is not null)
                    {
                        items.Add(obj);
                    }
                }
            }

            var metadata = root.TryGetProperty("metadata", out var m) ? m : default;
            continueToken = StringProperty(metadata, "continue");
            if (string.IsNullOrEmpty(continueToken))
            {
                return new ListResult<T>(items, StringProperty(metadata, "resourceVersion") ?? "");
            }
        }
    }

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = Query(
            ("watch", "true"),
            ("resourceVersion", resourceVersion),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", ((int)_watchTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var response = await _http.SendAsync(HttpMethod.Get, _resource.CollectionPath(_namespace) + query, null, cancellationToken)
            .ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            throw new ResourceVersionExpiredException($"Watch of {_resource} from resourceVersion {resourceVersion} answered 410 Gone.");
        }

        await KubeHttp.EnsureSuccessAsync(response, $"Watch {_resource}", cancellationToken).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);

        // The server ends the watch after timeoutSeconds; a connection that went silent (half-open TCP) is ended by us
        // a minute later, and the caller resumes from its last resourceVersion as after any close.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_watchTimeout + TimeSpan.FromMinutes(1));
        while (true)
        {
            var line = await ReadLineOrEndAsync(reader, deadline.Token, cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                yield break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            yield return ParseEvent(line, resourceVersion);
        }
    }

    /// <summary>The next line; null at the end of the stream or when only <paramref name="deadline"/> fired.</summary>
    private static async Task<string?> ReadLineOrEndAsync(StreamReader reader, CancellationToken deadline, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadLineAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Parses one line of a watch stream; ERROR events become exceptions.</summary>
    internal WatchEvent<T> ParseEvent(string line, string fromResourceVersion)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var type = StringProperty(root, "type") ?? "";
        var obj = root.TryGetProperty("object", out var o) ? o : default;
        switch (type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                var item = KubernetesJson.Deserialize<T>(obj.GetRawText())
                    ?? throw new KubeApiException($"Watch of {_resource} sent a {type} event without an object.");
                return new WatchEvent<T>(ToType(type), item, item.Metadata?.ResourceVersion ?? "");
            case "BOOKMARK":
                var metadata = obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("metadata", out var m) ? m : default;
                return new WatchEvent<T>(WatchEventType.Bookmark, null, StringProperty(metadata, "resourceVersion") ?? "");
            case "ERROR":
                var code = obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty("code", out var c) && c.TryGetInt32(out var ci) ? ci : 0;
                var message = StringProperty(obj, "message") ?? "(no message)";
                if (code == (int)HttpStatusCode.Gone)
                {
                    throw new ResourceVersionExpiredException(
                        $"Watch of {_resource} from resourceVersion {fromResourceVersion} expired (410): {message}");
                }

                throw new KubeApiException((HttpStatusCode)(code == 0 ? 500 : code), StringProperty(obj, "reason"),
                    $"Watch of {_resource} sent an ERROR event (code {code}): {message}");
            default:
                throw new KubeApiException($"Watch of {_resource} sent an event of unknown type '{type}'.");
        }
    }

    private static WatchEventType ToType(string type) => type switch
    {
        "ADDED" => WatchEventType.Added,
        "MODIFIED" => WatchEventType.Modified,
        _ => WatchEventType.Deleted,
    };

    private string Query(params (string Name, string? Value)[] extra)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(_labelSelector))
        {
            parts.Add("labelSelector=" + Uri.EscapeDataString(_labelSelector));
        }

        foreach (var (name, value) in extra)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }

        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
