using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeStack.ApiEmulator;

/// <summary>A parsed resource request path.</summary>
internal sealed record ResourcePath(ResourceType Type, string? Namespace, string? Name, string? Subresource);

/// <summary>Routes and serves every request. The behaviour of each verb mirrors kube-apiserver's generic registry (see docs/testing.md).</summary>
internal sealed partial class RequestHandler(ApiEmulator api)
{
    static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public void SeedDefaults()
    {
        // kube-apiserver creates these namespaces at start
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            var t = api.Registry.Find("", "v1", "namespaces")!;
            var o = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns }, ["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") }, ["status"] = new JsonObject { ["phase"] = "Active" } };
            PrepareCreate(t, o, null, ns);
            api.Store.Create(t, null, ns, o);
        }
    }

    public async Task HandleAsync(HttpContext ctx)
    {
        if (api.Options.RequestLog is { } log)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try { await HandleCoreAsync(ctx).ConfigureAwait(false); }
            finally
            {
                log($"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString} -> {ctx.Response.StatusCode} ({System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms)");
            }
        }
        else await HandleCoreAsync(ctx).ConfigureAwait(false);
    }

    async Task HandleCoreAsync(HttpContext ctx)
    {
        try
        {
            await api.Faults.WaitIfPausedAsync(ctx.RequestAborted).ConfigureAwait(false);
            await RouteAsync(ctx).ConfigureAwait(false);
        }
        catch (ApiError e)
        {
            if (!ctx.Response.HasStarted)
            {
                foreach (var (k, v) in e.Headers) ctx.Response.Headers[k] = v;
                await WriteJson(ctx, e.Code, e.ToStatus()).ConfigureAwait(false);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413 && !ctx.Response.HasStarted)
        {
            await WriteJson(ctx, 413, ApiError.StatusObject(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // client went away
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException or IndexOutOfRangeException)
        {
            if (!ctx.Response.HasStarted)
                await WriteJson(ctx, 400, ApiError.StatusObject(400, "BadRequest", e.Message)).ConfigureAwait(false);
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            // an emulator bug must show up in the test that hit it, as a 500 naming the exception
            await WriteJson(ctx, 500, ApiError.StatusObject(500, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
        }
    }

    internal static Task WriteJson(HttpContext ctx, int code, JsonNode body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString(Compact) + "\n", ctx.RequestAborted);
    }

    async Task RouteAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value?.TrimEnd('/') ?? "";
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = ctx.Request.Method;

        switch (path)
        {
            case "/healthz" or "/readyz" or "/livez":
                ctx.Response.ContentType = "text/plain";
                await ctx.Response.WriteAsync("ok").ConfigureAwait(false);
                return;
            case "/version":
                await WriteJson(ctx, 200, Discovery.Version()).ConfigureAwait(false);
                return;
            case "/api":
                await WriteJson(ctx, 200, Discovery.ApiVersions(api.Port)).ConfigureAwait(false);
                return;
            case "/apis":
                await WriteJson(ctx, 200, Discovery.GroupList(api.Registry)).ConfigureAwait(false);
                return;
            case "/openapi/v3":
                await WriteJson(ctx, 200, OpenApi.Root(api.Registry)).ConfigureAwait(false);
                return;
            case "/openapi/v2":
                // kubectl 1.32 uses OpenAPI v3 when served; v2 is answered 404 as by a server with v2 disabled.
                throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        }

        if (segs.Length >= 3 && segs[0] == "openapi" && segs[1] == "v3")
        {
            var gv = string.Join('/', segs.Skip(2));
            var doc = OpenApi.GroupVersion(api.Registry, gv) ?? throw new ApiError(404, "NotFound", $"the server could not find the requested resource (openapi/v3/{gv})");
            await WriteJson(ctx, 200, doc).ConfigureAwait(false);
            return;
        }

        string group, version; int rest;
        if (segs.Length >= 2 && segs[0] == "api") { group = ""; version = segs[1]; rest = 2; }
        else if (segs.Length == 2 && segs[0] == "apis")
        {
            var g = Discovery.Group(api.Registry, segs[1]) ?? throw NotFoundPath();
            await WriteJson(ctx, 200, g).ConfigureAwait(false);
            return;
        }
        else if (segs.Length >= 3 && segs[0] == "apis") { group = segs[1]; version = segs[2]; rest = 3; }
        else throw NotFoundPath();

        if (segs.Length == rest)
        {
            if (!api.Registry.HasGroupVersion(group, version)) throw NotFoundPath();
            await WriteJson(ctx, 200, Discovery.ResourceList(api.Registry, group, version)).ConfigureAwait(false);
            return;
        }

        var rp = ParseResourcePath(group, version, segs[rest..]) ?? throw NotFoundPath();
        var verb = Verb(method, rp, ctx.Request.Query);
        var faultResource = rp.Subresource is null ? rp.Type.Plural : $"{rp.Type.Plural}/{rp.Subresource}";
        if (api.Faults.Take(verb, faultResource) is { } fault) throw fault;

        switch (verb)
        {
            case "get": await GetAsync(ctx, rp).ConfigureAwait(false); break;
            case "list": await ListAsync(ctx, rp).ConfigureAwait(false); break;
            case "watch": await WatchAsync(ctx, rp).ConfigureAwait(false); break;
            case "create": await CreateAsync(ctx, rp).ConfigureAwait(false); break;
            case "update": await UpdateAsync(ctx, rp).ConfigureAwait(false); break;
            case "patch": await PatchAsync(ctx, rp).ConfigureAwait(false); break;
            case "delete": await DeleteAsync(ctx, rp).ConfigureAwait(false); break;
            case "deletecollection": await DeleteCollectionAsync(ctx, rp).ConfigureAwait(false); break;
            default: throw ApiError.MethodNotAllowed($"the server does not allow this method on the requested resource");
        }
    }

    static ApiError NotFoundPath() => new(404, "NotFound", "the server could not find the requested resource");

    static bool IsTrue(string? v) => v is "true" or "1";

    static string Verb(string method, ResourcePath rp, IQueryCollection q) => method switch
    {
        "GET" when rp.Name is null => IsTrue(q["watch"]) ? "watch" : "list",
        "GET" => IsTrue(q["watch"]) ? "watch" : "get",
        "POST" when rp.Name is null => "create",
        "PUT" when rp.Name is not null => "update",
        "PATCH" when rp.Name is not null => "patch",
        "DELETE" when rp.Name is null => "deletecollection",
        "DELETE" => "delete",
        _ => "unsupported",
    };

    ResourcePath? ParseResourcePath(string group, string version, string[] s)
    {
        string? ns = null;
        int i = 0;
        if (s.Length >= 3 && s[0] == "namespaces" && !(s.Length == 3 && s[2] is "status" or "finalize"))
        {
            ns = s[1];
            i = 2;
        }
        if (i >= s.Length) return null;
        var type = api.Registry.Find(group, version, s[i]);
        if (type is null) return null;
        if (ns is not null && !type.Namespaced) return null;
        string? name = i + 1 < s.Length ? s[i + 1] : null;
        string? sub = i + 2 < s.Length ? s[i + 2] : null;
        if (i + 3 < s.Length) return null;
        if (sub is not null && !(sub == "status" && type.HasStatusSubresource) && !(type.Plural == "namespaces" && sub == "finalize")) return null;
        return new ResourcePath(type, type.Namespaced ? ns : null, name, sub);
    }

    // ---------------------------------------------------------------- reads

    static bool WantsTable(HttpContext ctx) =>
        ctx.Request.Headers.Accept.Any(a => a is not null && a.Contains("as=Table", StringComparison.Ordinal));

    async Task GetAsync(HttpContext ctx, ResourcePath rp)
    {
        var t = rp.Type;
        var stored = api.Store.Get(t.StorageKey, rp.Namespace, rp.Name!) ?? throw ApiError.NotFound(t.Plural, t.Group, rp.Name!);
        var o = Presentation.Present(t, stored);
        if (WantsTable(ctx))
            await WriteJson(ctx, 200, Presentation.Table(t, [o], Meta.ResourceVersion(o), ctx.Request.Query["includeObject"])).ConfigureAwait(false);
        else
            await WriteJson(ctx, 200, o).ConfigureAwait(false);
    }

    Func<JsonObject, bool> Filter(ResourcePath rp, IQueryCollection q)
    {
        var labels = LabelSelector.Parse(q["labelSelector"]);
        var fields = FieldSelector.Parse(q["fieldSelector"], rp.Type);
        bool hasFields = !string.IsNullOrWhiteSpace(q["fieldSelector"]);
        var t = rp.Type;
        // field selectors name fields of the served shape (events.k8s.io: regarding.*), so they see the presented object
        return stored => labels(Meta.Labels(stored)) && (!hasFields || fields(Presentation.Present(t, stored))) && (rp.Name is null || Meta.Name(stored) == rp.Name);
    }

    async Task ListAsync(HttpContext ctx, ResourcePath rp)
    {
        var t = rp.Type;
        var q = ctx.Request.Query;
        var (items, rv) = api.Store.List(t.StorageKey, rp.Namespace);
        var filter = Filter(rp, q);
        var selected = items.Where(filter).ToList();

        // limit/continue: https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
        string? next = null;
        if (!string.IsNullOrEmpty(q["continue"]))
        {
            string after;
            try { after = Encoding.UTF8.GetString(Convert.FromBase64String(q["continue"]!)); }
            catch (FormatException) { throw ApiError.BadRequest("continue key is not valid: illegal base64 data"); }
            selected = selected.Where(o => string.CompareOrdinal($"{Meta.Namespace(o)}/{Meta.Name(o)}", after) > 0).ToList();
        }
        if (int.TryParse(q["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0 && selected.Count > limit)
        {
            selected = selected.Take(limit).ToList();
            var last = selected[^1];
            next = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Meta.Namespace(last)}/{Meta.Name(last)}"));
        }

        var presented = selected.Select(o => Presentation.Present(t, o)).ToList();
        var rvText = rv.ToString(CultureInfo.InvariantCulture);
        if (WantsTable(ctx))
        {
            await WriteJson(ctx, 200, Presentation.Table(t, presented, rvText, q["includeObject"], next)).ConfigureAwait(false);
            return;
        }
        var meta = new JsonObject { ["resourceVersion"] = rvText };
        if (next is not null) meta["continue"] = next;
        var list = new JsonObject
        {
            ["apiVersion"] = t.ApiVersion,
            ["kind"] = t.ListKind,
            ["metadata"] = meta,
            ["items"] = new JsonArray(presented.Cast<JsonNode?>().ToArray()),
        };
        await WriteJson(ctx, 200, list).ConfigureAwait(false);
    }

    /// <summary>
    /// Watch: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes — a stream of
    /// newline-delimited JSON {type, object}; from a resourceVersion older than the history, an ERROR event carrying a
    /// 410 Expired Status (what kube-apiserver's watch cache sends).
    /// </summary>
    async Task WatchAsync(HttpContext ctx, ResourcePath rp)
    {
        var t = rp.Type;
        var q = ctx.Request.Query;
        var filter = Filter(rp, q);
        bool bookmarks = IsTrue(q["allowWatchBookmarks"]);
        bool initialEvents = IsTrue(q["sendInitialEvents"]);
        bool table = WantsTable(ctx);
        string? includeObject = q["includeObject"];
        var timeout = double.TryParse(q["timeoutSeconds"], NumberStyles.Float, CultureInfo.InvariantCulture, out var ts) && ts > 0
            ? TimeSpan.FromSeconds(ts) : api.Options.DefaultWatchTimeout;

        Watcher watcher;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        try
        {
            watcher = api.Store.Watch(t.StorageKey, q["resourceVersion"], o => filter(o), o => Presentation.Present(t, o), initialEvents);
        }
        catch (ApiError e) when (e.Code == 410)
        {
            await WriteEvent(ctx, new WatchEvent("ERROR", e.ToStatus())).ConfigureAwait(false);
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        cts.CancelAfter(timeout);
        try
        {
            await ctx.Response.StartAsync(cts.Token).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(cts.Token).ConfigureAwait(false);
            if (initialEvents)
            {
                // the initial-events-end bookmark (https://kubernetes.io/docs/reference/using-api/api-concepts/#streaming-lists)
                while (watcher.Channel.Reader.TryRead(out var ev)) await WriteEvent(ctx, Shape(ev)).ConfigureAwait(false);
                await WriteEvent(ctx, Bookmark(t, watcher.LastRv, initialEventsEnd: true)).ConfigureAwait(false);
            }
            var reader = watcher.Channel.Reader;
            while (true)
            {
                var wait = reader.WaitToReadAsync(cts.Token).AsTask();
                while (bookmarks && !wait.IsCompleted)
                {
                    // BOOKMARK events: https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks
                    var tick = Task.Delay(api.Options.BookmarkInterval, cts.Token);
                    if (await Task.WhenAny(wait, tick).ConfigureAwait(false) == tick)
                    {
                        await tick.ConfigureAwait(false);
                        await WriteEvent(ctx, Bookmark(t, api.Store.BookmarkRv(watcher))).ConfigureAwait(false);
                    }
                }
                if (!await wait.ConfigureAwait(false)) break; // channel completed: the watch was dropped
                while (reader.TryRead(out var ev)) await WriteEvent(ctx, Shape(ev)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds reached or client gone: the stream ends, as kube-apiserver ends it
        }
        finally
        {
            api.Store.Unwatch(watcher);
        }

        WatchEvent Shape(WatchEvent ev) =>
            table && ev.Type is not ("BOOKMARK" or "ERROR") ? ev with { Object = Presentation.Table(t, [ev.Object], Meta.ResourceVersion(ev.Object), includeObject) } : ev;
    }

    static WatchEvent Bookmark(ResourceType t, long rv, bool initialEventsEnd = false)
    {
        var meta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd) meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        return new WatchEvent("BOOKMARK", new JsonObject { ["apiVersion"] = t.ApiVersion, ["kind"] = t.Kind, ["metadata"] = meta });
    }

    static async Task WriteEvent(HttpContext ctx, WatchEvent ev)
    {
        var line = new JsonObject { ["type"] = ev.Type, ["object"] = ev.Object.DeepClone() }.ToJsonString(Compact) + "\n";
        await ctx.Response.WriteAsync(line, ctx.RequestAborted).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }
}
