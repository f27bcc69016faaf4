using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>Converts stored objects to the API version asked for, and back.</summary>
internal static class Presentation
{
    // core/v1 Event field <-> events.k8s.io/v1 Event field (the same stored object, as kube-apiserver serves both).
    static readonly (string Core, string EventsV1)[] EventFields =
    [
        ("involvedObject", "regarding"), ("message", "note"), ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"), ("reportingComponent", "reportingController"),
    ];

    static bool IsEventsV1(ResourceType t) => t.Group == "events.k8s.io";

    /// <summary>The object as the client sees it through <paramref name="t"/>.</summary>
    public static JsonObject Present(ResourceType t, JsonObject stored)
    {
        var o = (JsonObject)stored.DeepClone();
        if (IsEventsV1(t)) Rename(o, EventFields.Select(f => (f.Core, f.EventsV1)));
        return WithTypeMeta(t, o);
    }

    /// <summary>The object as stored, from what the client sent through <paramref name="t"/>.</summary>
    public static JsonObject ToStorage(ResourceType t, JsonObject incoming)
    {
        var o = (JsonObject)incoming.DeepClone();
        if (IsEventsV1(t))
        {
            Rename(o, EventFields.Select(f => (f.EventsV1, f.Core)));
            o["apiVersion"] = "v1";
            o["kind"] = "Event";
        }
        return o;
    }

    static void Rename(JsonObject o, IEnumerable<(string From, string To)> pairs)
    {
        var props = o.ToList();
        foreach (var (k, _) in props) o.Remove(k);
        var map = pairs.ToDictionary(p => p.From, p => p.To, StringComparer.Ordinal);
        foreach (var (k, v) in props) o[map.GetValueOrDefault(k, k)] = v;
    }

    static JsonObject WithTypeMeta(ResourceType t, JsonObject o)
    {
        // apiVersion and kind first, the way kube-apiserver serialises them
        var props = o.ToList();
        foreach (var (k, _) in props) o.Remove(k);
        o["apiVersion"] = t.ApiVersion;
        o["kind"] = t.Kind;
        foreach (var (k, v) in props)
            if (k is not ("apiVersion" or "kind")) o[k] = v;
        return o;
    }

    /// <summary>A duration as kubectl prints ages (k8s.io/apimachinery/pkg/util/duration.HumanDuration).</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 60 * 2) return $"{seconds}s";
        var minutes = seconds / 60;
        if (minutes < 10) { var s = seconds % 60; return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s"; }
        if (minutes < 60 * 3) return $"{minutes}m";
        var hours = minutes / 60;
        if (hours < 8) { var m = minutes % 60; return m == 0 ? $"{hours}h" : $"{hours}h{m}m"; }
        if (hours < 48) return $"{hours}h";
        if (hours < 24 * 8) { var h = hours % 24; return h == 0 ? $"{hours / 24}d" : $"{hours / 24}d{h}h"; }
        if (hours < 24 * 365 * 2) return $"{hours / 24}d";
        if (hours < 24 * 365 * 8) { var dy = hours / 24 % 365; return dy == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{dy}d"; }
        return $"{hours / 24 / 365}y";
    }

    /// <summary>
    /// A meta.k8s.io/v1 Table, as served for <c>Accept: application/json;as=Table;v=v1;g=meta.k8s.io</c>: a Name column,
    /// then the printer columns evaluated with JSONPath (https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
    /// </summary>
    public static JsonObject Table(ResourceType t, IEnumerable<JsonObject> objects, string rv, string? includeObject, string? continueToken = null)
    {
        var cols = new JsonArray
        {
            new JsonObject { ["name"] = "Name", ["type"] = "string", ["format"] = "name", ["description"] = "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", ["priority"] = 0 },
        };
        foreach (var c in t.PrinterColumns)
            cols.Add(new JsonObject { ["name"] = c.Name, ["type"] = c.Type, ["format"] = c.Format, ["description"] = c.Description, ["priority"] = c.Priority });
        var rows = new JsonArray();
        foreach (var o in objects)
        {
            var cells = new JsonArray { Meta.Name(o) };
            foreach (var c in t.PrinterColumns) cells.Add(Cell(c, o));
            var row = new JsonObject { ["cells"] = cells };
            switch (includeObject)
            {
                case "None": break;
                case "Object": row["object"] = o.DeepClone(); break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = "meta.k8s.io/v1",
                        ["metadata"] = o["metadata"]?.DeepClone(),
                    };
                    break;
            }
            rows.Add(row);
        }
        var meta = new JsonObject { ["resourceVersion"] = rv };
        if (!string.IsNullOrEmpty(continueToken)) meta["continue"] = continueToken;
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = meta,
            ["columnDefinitions"] = cols,
            ["rows"] = rows,
        };
    }

    static JsonNode? Cell(PrinterColumn c, JsonObject o)
    {
        var results = JsonPathLite.Evaluate(o, c.JsonPath);
        if (results.Count == 0) return null;
        if (c.Type == "integer" && c.JsonPath.Contains("[*]", StringComparison.Ordinal)) return results.Count; // e.g. webhooks count
        if (results.Count > 1) return string.Join(",", results.Select(Text));
        var v = results[0];
        switch (c.Type)
        {
            case "date":
                var s = Meta.Str(v);
                return s is not null && DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when)
                    ? HumanDuration(DateTime.UtcNow - when) : Text(v);
            case "integer" or "number" or "boolean":
                return v is JsonValue jv && jv.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False ? v.DeepClone() : Text(v);
            default:
                return Text(v);
        }
    }

    static string Text(JsonNode? v) => v switch
    {
        null => "<none>",
        JsonValue j when j.GetValueKind() == JsonValueKind.String => j.GetValue<string>(),
        _ => v.ToJsonString(),
    };
}

/// <summary>
/// The subset of kubectl JSONPath that printer columns use: <c>.a.b</c>, <c>.a[0]</c>, <c>.a[*].b</c>,
/// <c>.a[?(@.type=="Ready")].status</c> (https://kubernetes.io/docs/reference/kubectl/jsonpath/).
/// </summary>
public static class JsonPathLite
{
    public static List<JsonNode?> Evaluate(JsonNode root, string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}')) p = p[1..^1];
        if (p.StartsWith('$')) p = p[1..];
        var current = new List<JsonNode?> { root };
        int i = 0;
        while (i < p.Length && current.Count > 0)
        {
            if (p[i] == '.')
            {
                i++;
                int start = i;
                while (i < p.Length && p[i] != '.' && p[i] != '[') i++;
                var name = p[start..i];
                if (name.Length == 0) continue;
                current = current.Select(n => n is JsonObject o && o.TryGetPropertyValue(name, out var v) ? v : null)
                    .Where((n, _) => n is not null).ToList();
            }
            else if (p[i] == '[')
            {
                int end = FindClose(p, i);
                var inner = p[(i + 1)..end].Trim();
                i = end + 1;
                var next = new List<JsonNode?>();
                foreach (var n in current)
                {
                    if (n is not JsonArray a) continue;
                    if (inner == "*") next.AddRange(a);
                    else if (inner.StartsWith("?(", StringComparison.Ordinal) && inner.EndsWith(')'))
                        next.AddRange(a.Where(e => e is not null && Filter(e, inner[2..^1])));
                    else if (int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var idx))
                    {
                        if (idx < 0) idx += a.Count;
                        if (idx >= 0 && idx < a.Count) next.Add(a[idx]);
                    }
                }
                current = next;
            }
            else throw ApiError.BadRequest($"unsupported JSONPath {path}");
        }
        return current;
    }

    static int FindClose(string p, int open)
    {
        int depth = 0; bool quoted = false;
        for (int i = open; i < p.Length; i++)
        {
            if (p[i] == '"') quoted = !quoted;
            if (quoted) continue;
            if (p[i] == '[') depth++;
            else if (p[i] == ']' && --depth == 0) return i;
        }
        throw ApiError.BadRequest($"unclosed [ in JSONPath {p}");
    }

    static bool Filter(JsonNode element, string expr)
    {
        // @.a.b == "x" | @.a != 'x' | @.a (exists)
        foreach (var op in new[] { "==", "!=" })
        {
            var idx = expr.IndexOf(op, StringComparison.Ordinal);
            if (idx < 0) continue;
            var left = expr[..idx].Trim();
            var right = expr[(idx + 2)..].Trim().Trim('"', '\'');
            var vals = Evaluate(element, left.TrimStart('@'));
            var actual = vals.Count > 0 ? (Meta.Str(vals[0]) ?? vals[0]?.ToJsonString()) : null;
            return op == "==" ? actual == right : actual != right;
        }
        return Evaluate(element, expr.Trim().TrimStart('@')).Count > 0;
    }
}
