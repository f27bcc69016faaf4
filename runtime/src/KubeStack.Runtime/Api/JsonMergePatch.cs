using System.Text.Json.Nodes;

namespace KubeStack.Runtime.Api;

/// <summary>JSON merge patch (RFC 7386) helpers.</summary>
public static class JsonMergePatch
{
    /// <summary>
    /// The merge patch that turns <paramref name="original"/> into <paramref name="modified"/>: changed members are set,
    /// members missing from <paramref name="modified"/> are set to null (removed), unchanged members are left out.
    /// Returns null when nothing changes. Objects are diffed recursively; anything else (arrays, scalars) is replaced
    /// whole. JSON null values inside <paramref name="modified"/> cannot be expressed (null means "remove").
    /// </summary>
    public static JsonNode? CreateDiff(JsonNode? original, JsonNode? modified)
    {
        if (original is JsonObject o && modified is JsonObject m)
        {
            var patch = new JsonObject();
            foreach (var (name, _) in o)
            {
                if (!m.ContainsKey(name))
                {
                    patch[name] = null;
                }
            }

            foreach (var (name, value) in m)
            {
                o.TryGetPropertyValue(name, out var before);
                if (JsonNode.DeepEquals(before, value))
                {
                    continue;
                }

                if (before is JsonObject && value is JsonObject)
                {
                    var inner = CreateDiff(before, value);
                    if (inner is not null)
                    {
                        patch[name] = inner;
                    }
                }
                else
                {
                    patch[name] = value?.DeepClone();
                }
            }

            return patch.Count == 0 ? null : patch;
        }

        return JsonNode.DeepEquals(original, modified) ? null : modified?.DeepClone();
    }

    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/> as RFC 7386 says; returns the result.</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                result.TryGetPropertyValue(name, out var existing);
                var merged = Apply(existing, value);
                result[name] = merged;
            }
        }

        return result;
    }
}
