using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>The patch formats kube-apiserver accepts (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/).</summary>
internal static class Patches
{
    /// <summary>JSON merge patch, RFC 7386: objects merge recursively, null deletes a key, anything else (arrays too) replaces.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (k, v) in p)
        {
            if (v is null) { result.Remove(k); continue; }
            result.TryGetPropertyValue(k, out var existing);
            result[k] = MergePatch(existing, v);
        }
        return result;
    }

    /// <summary>
    /// Strategic merge patch for built-in types, as far as kubectl label/annotate/apply need it: a merge patch that also
    /// honours the <c>$patch: delete|replace</c> directive and drops <c>$setElementOrder/</c>, <c>$retainKeys</c> and
    /// <c>$deleteFromPrimitiveList/</c> directives. Lists are replaced (none of the built-in types served here has a merge key
    /// the product relies on).
    /// </summary>
    public static JsonNode? StrategicMergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        if (Meta.Str(p["$patch"]) == "delete") return null;
        if (Meta.Str(p["$patch"]) == "replace")
        {
            var copy = (JsonObject)p.DeepClone();
            copy.Remove("$patch");
            return copy;
        }
        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (k, v) in p)
        {
            if (k.StartsWith('$')) continue;
            if (k.StartsWith("$setElementOrder/", StringComparison.Ordinal) || k.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal)) continue;
            if (v is null) { result.Remove(k); continue; }
            result.TryGetPropertyValue(k, out var existing);
            var merged = StrategicMergePatch(existing, v);
            if (merged is null) result.Remove(k); else result[k] = merged;
        }
        return result;
    }

    /// <summary>JSON patch, RFC 6902: add, remove, replace, move, copy, test.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode target, JsonArray ops)
    {
        var doc = target.DeepClone();
        foreach (var opNode in ops)
        {
            if (opNode is not JsonObject op) throw ApiError.BadRequest("json patch: every operation must be an object");
            var kind = Meta.Str(op["op"]) ?? throw ApiError.BadRequest("json patch: operation without \"op\"");
            var path = Meta.Str(op["path"]) ?? throw ApiError.BadRequest("json patch: operation without \"path\"");
            switch (kind)
            {
                case "add": doc = Add(doc, path, op["value"]?.DeepClone()); break;
                case "remove": doc = Remove(doc, path, out _); break;
                case "replace": doc = Remove(doc, path, out _); doc = Add(doc, path, op["value"]?.DeepClone()); break;
                case "move":
                    {
                        var from = Meta.Str(op["from"]) ?? throw ApiError.BadRequest("json patch: move without \"from\"");
                        doc = Remove(doc, from, out var moved);
                        doc = Add(doc, path, moved);
                        break;
                    }
                case "copy":
                    {
                        var from = Meta.Str(op["from"]) ?? throw ApiError.BadRequest("json patch: copy without \"from\"");
                        doc = Add(doc, path, Get(doc, from)?.DeepClone());
                        break;
                    }
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), op["value"]))
                        throw new ApiError(422, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                    break;
                default: throw ApiError.BadRequest($"json patch: unknown operation \"{kind}\"");
            }
        }
        return doc;
    }

    static List<string> Pointer(string path)
    {
        if (path == "") return [];
        if (!path.StartsWith('/')) throw ApiError.BadRequest($"json patch: invalid path \"{path}\"");
        return path[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    static JsonNode? Get(JsonNode doc, string path)
    {
        JsonNode? cur = doc;
        foreach (var seg in Pointer(path))
        {
            cur = cur switch
            {
                JsonObject o => o.TryGetPropertyValue(seg, out var v) ? v : throw Missing(path),
                JsonArray a when int.TryParse(seg, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw Missing(path),
            };
        }
        return cur;
    }

    static ApiError Missing(string path) => new(422, "Invalid", $"the server rejected our request due to an error in our request: jsonpatch: path {path} does not exist");

    static string ParentPath(List<string> segs) =>
        segs.Count == 1 ? "" : "/" + string.Join('/', segs.Take(segs.Count - 1).Select(s => s.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)));

    static JsonNode Add(JsonNode doc, string path, JsonNode? value)
    {
        var segs = Pointer(path);
        if (segs.Count == 0) return value ?? throw ApiError.BadRequest("json patch: cannot replace the document with null");
        var parent = Get(doc, ParentPath(segs));
        var last = segs[^1];
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a:
                if (last == "-") a.Add(value);
                else if (int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count) a.Insert(i, value);
                else throw Missing(path);
                break;
            default: throw Missing(path);
        }
        return doc;
    }

    static JsonNode Remove(JsonNode doc, string path, out JsonNode? removed)
    {
        var segs = Pointer(path);
        if (segs.Count == 0) throw ApiError.BadRequest("json patch: cannot remove the whole document");
        var parent = Get(doc, ParentPath(segs));
        var last = segs[^1];
        switch (parent)
        {
            case JsonObject o:
                if (!o.TryGetPropertyValue(last, out removed)) throw Missing(path);
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default: throw Missing(path);
        }
        removed = removed?.DeepClone();
        return doc;
    }
}
