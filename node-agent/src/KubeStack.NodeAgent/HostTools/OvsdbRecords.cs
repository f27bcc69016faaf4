using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeStack.NodeAgent.HostTools;

/// <summary>
/// One row of an <c>ovs-vsctl</c>/<c>ovn-nbctl</c> <c>--format=json</c> listing, with the OVSDB encodings already
/// turned into plain values: <c>["set",[...]]</c> → a list, <c>["map",[[k,v]...]]</c> → a dictionary,
/// <c>["uuid","..."]</c> → the UUID string, an empty set → an empty list.
/// </summary>
public sealed class OvsdbRow(IReadOnlyDictionary<string, object?> cells)
{
    public IReadOnlyDictionary<string, object?> Cells { get; } = cells;

    public object? this[string column] => Cells.TryGetValue(column, out var v) ? v : null;

    /// <summary>A scalar column (string, UUID, number or bool) as text; null when absent or an empty set.</summary>
    public string? Text(string column) => this[column] switch
    {
        null => null,
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double d => d.ToString(CultureInfo.InvariantCulture),
        IReadOnlyList<object?> { Count: 0 } => null,
        IReadOnlyList<object?> { Count: 1 } one => Convert.ToString(one[0], CultureInfo.InvariantCulture),
        var other => Convert.ToString(other, CultureInfo.InvariantCulture),
    };

    /// <summary>An optional integer column (e.g. a port's <c>tag</c>): null when the set is empty.</summary>
    public long? Integer(string column) => this[column] switch
    {
        long l => l,
        IReadOnlyList<object?> { Count: 1 } one when one[0] is long l => l,
        _ => null,
    };

    /// <summary>A set column as strings (a single atom reads as a set of one).</summary>
    public IReadOnlyList<string> Set(string column) => this[column] switch
    {
        null => [],
        IReadOnlyList<object?> list => list.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? string.Empty).ToList(),
        var atom => [Convert.ToString(atom, CultureInfo.InvariantCulture) ?? string.Empty],
    };

    /// <summary>A map column (external_ids, options, other_config); empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Map(string column) =>
        this[column] as IReadOnlyDictionary<string, string> ?? new Dictionary<string, string>();

    public string Uuid => Text("_uuid") ?? throw new InvalidOperationException("the row was read without its _uuid column");
}

/// <summary>Parses the <c>--format=json</c> output of the OVSDB command-line tools and quotes values for their command syntax.</summary>
public static class OvsdbJson
{
    /// <summary>Parses <c>{"data":[[...]],"headings":[...]}</c>.</summary>
    public static IReadOnlyList<OvsdbRow> ParseTable(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("the listing is not a JSON object");
        var headings = (root["headings"] as JsonArray ?? throw new FormatException("the listing has no headings"))
            .Select(h => h!.GetValue<string>()).ToList();
        var rows = new List<OvsdbRow>();
        foreach (var data in root["data"] as JsonArray ?? throw new FormatException("the listing has no data"))
        {
            var cells = data as JsonArray ?? throw new FormatException("a row of the listing is not an array");
            if (cells.Count != headings.Count) throw new FormatException($"a row has {cells.Count} cells for {headings.Count} headings");
            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < headings.Count; i++) dict[headings[i]] = Decode(cells[i]);
            rows.Add(new OvsdbRow(dict));
        }
        return rows;
    }

    /// <summary>Decodes one OVSDB JSON value (RFC 7047 §5.1 notation).</summary>
    public static object? Decode(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonValue v:
                return v.GetValueKind() switch
                {
                    JsonValueKind.String => v.GetValue<string>(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Number => Number(v),
                    _ => null,
                };
            case JsonArray { Count: 2 } a when a[0] is JsonValue tag && tag.GetValueKind() == JsonValueKind.String:
                switch (tag.GetValue<string>())
                {
                    case "set":
                        return (a[1] as JsonArray ?? []).Select(Decode).ToList();
                    case "map":
                        var map = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var pair in a[1] as JsonArray ?? [])
                        {
                            if (pair is JsonArray { Count: 2 } kv)
                                map[Convert.ToString(Decode(kv[0]), CultureInfo.InvariantCulture) ?? string.Empty] =
                                    Convert.ToString(Decode(kv[1]), CultureInfo.InvariantCulture) ?? string.Empty;
                        }
                        return map;
                    case "uuid":
                    case "named-uuid":
                        return a[1]!.GetValue<string>();
                    default:
                        throw new FormatException($"unknown OVSDB value tag '{tag.GetValue<string>()}'");
                }
            default:
                throw new FormatException($"unexpected OVSDB value {node.ToJsonString()}");
        }
    }

    private static object Number(JsonValue v)
    {
        var text = v.ToJsonString();
        // two returns, not ?: (which would widen the long to double)
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return l;
        return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Quotes a string for the tools' value syntax (<c>match="..."</c>): double quotes, with " and \ escaped.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A set of strings in the tools' syntax: <c>"a","b"</c> (an empty set is <c>[]</c>).</summary>
    public static string QuoteSet(IEnumerable<string> values)
    {
        var list = values.Select(Quote).ToList();
        return list.Count == 0 ? "[]" : string.Join(',', list);
    }
}

/// <summary>One command of a tool transaction: its words (the first is the command, options like --may-exist first).</summary>
public sealed record OvsdbCommand(IReadOnlyList<string> Words)
{
    public static OvsdbCommand Of(params string[] words) => new(words);

    public override string ToString() => string.Join(' ', Words);
}
