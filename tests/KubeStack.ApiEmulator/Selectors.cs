using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>
/// Label selectors as kube-apiserver parses them (k8s.io/apimachinery/pkg/labels):
/// <c>key=value</c>, <c>key==value</c>, <c>key!=value</c>, <c>key in (a,b)</c>, <c>key notin (a,b)</c>, <c>key</c>, <c>!key</c>,
/// comma-separated and ANDed. https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
/// </summary>
public static class LabelSelector
{
    public static Func<IReadOnlyDictionary<string, string>, bool> Parse(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector)) return _ => true;
        var reqs = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        foreach (var raw in SplitTopLevel(selector))
        {
            var r = raw.Trim();
            if (r.Length == 0) continue;
            reqs.Add(ParseRequirement(r, selector));
        }
        return labels => reqs.All(f => f(labels));
    }

    static IEnumerable<string> SplitTopLevel(string s)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '(') depth++;
            else if (s[i] == ')') depth--;
            else if (s[i] == ',' && depth == 0) { yield return s[start..i]; start = i + 1; }
        }
        yield return s[start..];
    }

    static Func<IReadOnlyDictionary<string, string>, bool> ParseRequirement(string r, string whole)
    {
        if (r.StartsWith('!'))
        {
            var key = r[1..].Trim();
            Check(key, whole);
            return l => !l.ContainsKey(key);
        }
        int idx;
        if ((idx = r.IndexOf("!=", StringComparison.Ordinal)) > 0)
        {
            var (k, v) = (r[..idx].Trim(), r[(idx + 2)..].Trim());
            Check(k, whole);
            return l => !l.TryGetValue(k, out var x) || x != v;
        }
        if ((idx = r.IndexOf("==", StringComparison.Ordinal)) > 0 || (idx = r.IndexOf('=', StringComparison.Ordinal)) > 0)
        {
            var len = r.AsSpan(idx).StartsWith("==") ? 2 : 1;
            var (k, v) = (r[..idx].Trim(), r[(idx + len)..].Trim());
            Check(k, whole);
            return l => l.TryGetValue(k, out var x) && x == v;
        }
        var parts = r.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 2)
        {
            var rest = parts[1];
            bool notIn = rest.StartsWith("notin", StringComparison.Ordinal);
            bool isIn = !notIn && rest.StartsWith("in", StringComparison.Ordinal);
            if (isIn || notIn)
            {
                var list = rest[(notIn ? 5 : 2)..].Trim();
                if (!list.StartsWith('(') || !list.EndsWith(')'))
                    throw ApiError.BadRequest($"unable to parse requirement: found '{list}', expected: '('");
                var values = list[1..^1].Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                var k = parts[0];
                Check(k, whole);
                return notIn ? l => !l.TryGetValue(k, out var x) || !values.Contains(x) : l => l.TryGetValue(k, out var x) && values.Contains(x);
            }
            throw ApiError.BadRequest($"unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt");
        }
        Check(r, whole);
        return l => l.ContainsKey(r);
    }

    static void Check(string key, string whole)
    {
        if (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || c is '(' or ')' or '!' or '='))
            throw ApiError.BadRequest($"unable to parse requirement: invalid label key \"{key}\" in selector \"{whole}\"");
    }
}

/// <summary>
/// Field selectors (<c>field=value</c>, <c>field==value</c>, <c>field!=value</c>). Like kube-apiserver, only the fields a
/// resource declares are accepted; others get 400 "field label not supported".
/// https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
/// </summary>
public static class FieldSelector
{
    public static Func<JsonObject, bool> Parse(string? selector, ResourceType t)
    {
        if (string.IsNullOrWhiteSpace(selector)) return _ => true;
        var reqs = new List<Func<JsonObject, bool>>();
        foreach (var raw in selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string field, value; bool negate;
            int idx;
            if ((idx = raw.IndexOf("!=", StringComparison.Ordinal)) > 0) { field = raw[..idx]; value = raw[(idx + 2)..]; negate = true; }
            else if ((idx = raw.IndexOf("==", StringComparison.Ordinal)) > 0) { field = raw[..idx]; value = raw[(idx + 2)..]; negate = false; }
            else if ((idx = raw.IndexOf('=', StringComparison.Ordinal)) > 0) { field = raw[..idx]; value = raw[(idx + 1)..]; negate = false; }
            else throw ApiError.BadRequest($"invalid selector: '{selector}'; can't understand '{raw}'");
            field = field.Trim(); value = value.Trim();
            if (!Supported(t, field))
                throw ApiError.BadRequest($"field label not supported: {field}");
            reqs.Add(o =>
            {
                var actual = Meta.FieldValue(o, field) ?? "";
                return negate ? actual != value : actual == value;
            });
        }
        return o => reqs.All(f => f(o));
    }

    static bool Supported(ResourceType t, string field)
    {
        if (field is "metadata.name" or "metadata.namespace") return true;
        return (t.Group, t.Plural) switch
        {
            ("", "events") => field.StartsWith("involvedObject.", StringComparison.Ordinal) || field is "reason" or "reportingComponent" or "source" or "type",
            ("events.k8s.io", "events") => field.StartsWith("regarding.", StringComparison.Ordinal) || field is "reason" or "reportingController" or "type",
            ("", "secrets") => field == "type",
            ("", "namespaces") => field == "status.phase",
            ("", "nodes") => field == "spec.unschedulable",
            _ => false,
        };
    }
}
