using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>Accessors for object metadata on JSON objects.</summary>
internal static class Meta
{
    public static JsonObject Metadata(JsonObject o)
    {
        if (o["metadata"] is JsonObject m) return m;
        var n = new JsonObject();
        o["metadata"] = n;
        return n;
    }

    public static string? Str(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static string Name(JsonObject o) => Str(o["metadata"]?["name"]) ?? "";
    public static string? Namespace(JsonObject o) => Str(o["metadata"]?["namespace"]);
    public static string ResourceVersion(JsonObject o) => Str(o["metadata"]?["resourceVersion"]) ?? "";

    public static IReadOnlyDictionary<string, string> Labels(JsonObject o)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["metadata"]?["labels"] is JsonObject l)
            foreach (var (k, v) in l)
                d[k] = Str(v) ?? v?.ToJsonString() ?? "";
        return d;
    }

    public static List<string> Finalizers(JsonObject o) =>
        o["metadata"]?["finalizers"] is JsonArray a ? a.Select(x => Str(x) ?? "").ToList() : [];

    /// <summary>A JSON number as double, whatever CLR type backs the node.</summary>
    public static double AsDouble(JsonValue v) => double.Parse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);

    public static long AsLong(JsonValue v) => (long)AsDouble(v);

    public static bool IsTrue(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    public static bool DeepEquals(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(a, b);

    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Resolves a dotted path (metadata.name, involvedObject.kind) to a string value for field selectors.</summary>
    public static string? FieldValue(JsonObject o, string path)
    {
        JsonNode? cur = o;
        foreach (var part in path.Split('.'))
        {
            if (cur is not JsonObject jo || !jo.TryGetPropertyValue(part, out cur)) return null;
        }
        return cur switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonValue v => v.ToJsonString(),
            _ => cur.ToJsonString(),
        };
    }
}
