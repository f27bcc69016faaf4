using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>
/// The rules apiextensions.k8s.io/v1 applies to a CRD's openAPIV3Schema (structural schema, forbidden keywords,
/// list-type map keys), checked over a JSON tree. Returns every problem with its path.
/// </summary>
internal static class StructuralSchema
{
    private static readonly HashSet<string> Types = ["object", "array", "string", "integer", "number", "boolean"];

    /// <summary>Keywords a v1 CRD schema may use; anything else is reported.</summary>
    private static readonly HashSet<string> Allowed =
    [
        "type", "description", "title", "properties", "required", "items", "enum", "pattern", "format",
        "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minItems", "maxItems", "minProperties", "maxProperties", "additionalProperties", "nullable", "default",
        "example", "externalDocs", "allOf", "anyOf", "oneOf", "not",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
        "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
    ];

    /// <summary>Keywords v1 rejects outright (uniqueItems only when true, additionalProperties only when false).</summary>
    private static readonly HashSet<string> Forbidden =
    [
        "$ref", "$schema", "definitions", "dependencies", "deprecated", "discriminator", "id", "patternProperties",
        "readOnly", "writeOnly", "xml", "additionalItems",
    ];

    public static List<string> Problems(JsonNode? root)
    {
        var problems = new List<string>();
        if (root is not JsonObject schema)
        {
            problems.Add("openAPIV3Schema: missing");
            return problems;
        }

        if (Str(schema, "type") != "object")
        {
            problems.Add("openAPIV3Schema: the root must have type: object");
        }

        Walk(schema, "openAPIV3Schema", problems);
        if (schema["properties"]?["metadata"] is JsonObject metadata)
        {
            foreach (var (key, _) in metadata)
            {
                if (key is not "type" and not "properties")
                {
                    problems.Add($"openAPIV3Schema.properties.metadata: only type (and name/generateName) may be set, found '{key}'");
                }
            }

            if (metadata["properties"] is JsonObject mp && mp.Any(p => p.Key is not "name" and not "generateName"))
            {
                problems.Add("openAPIV3Schema.properties.metadata: only name and generateName may be constrained");
            }
        }

        return problems;
    }

    private static void Walk(JsonObject node, string path, List<string> problems)
    {
        foreach (var (key, value) in node)
        {
            if (Forbidden.Contains(key))
            {
                problems.Add($"{path}: '{key}' is forbidden in apiextensions.k8s.io/v1");
            }
            else if (!Allowed.Contains(key))
            {
                problems.Add($"{path}: unknown keyword '{key}'");
            }
        }

        if (node["uniqueItems"] is JsonValue u && u.GetValueKind() == JsonValueKind.True)
        {
            problems.Add($"{path}: uniqueItems: true is forbidden");
        }

        var preserve = node["x-kubernetes-preserve-unknown-fields"];
        if (preserve is not null && preserve.GetValueKind() != JsonValueKind.True)
        {
            problems.Add($"{path}: x-kubernetes-preserve-unknown-fields must be true when set");
        }

        var intOrString = node["x-kubernetes-int-or-string"]?.GetValueKind() == JsonValueKind.True;
        var type = Str(node, "type");
        if (type is null)
        {
            if (preserve is null && !intOrString)
            {
                problems.Add($"{path}: no type (only x-kubernetes-preserve-unknown-fields or x-kubernetes-int-or-string nodes may omit it)");
            }
        }
        else if (!Types.Contains(type))
        {
            problems.Add($"{path}: type '{type}' is not an OpenAPI type");
        }

        foreach (var junctor in new[] { "allOf", "anyOf", "oneOf", "not" })
        {
            if (node.ContainsKey(junctor))
            {
                problems.Add($"{path}: '{junctor}' is not used by KubeStack's generator (its sub-schemas may not carry types)");
            }
        }

        if (node["additionalProperties"] is { } additional)
        {
            if (additional.GetValueKind() == JsonValueKind.False)
            {
                problems.Add($"{path}: additionalProperties: false is forbidden");
            }

            if (node.ContainsKey("properties"))
            {
                problems.Add($"{path}: additionalProperties and properties are mutually exclusive");
            }

            if (additional is JsonObject additionalSchema)
            {
                Walk(additionalSchema, path + ".additionalProperties", problems);
            }
        }

        if (node["properties"] is JsonObject properties)
        {
            if (type is not null and not "object")
            {
                problems.Add($"{path}: properties on a node of type {type}");
            }

            foreach (var (name, child) in properties)
            {
                if (child is JsonObject childSchema)
                {
                    Walk(childSchema, $"{path}.properties.{name}", problems);
                }
                else
                {
                    problems.Add($"{path}.properties.{name}: not a schema object");
                }
            }
        }

        if (node["required"] is JsonArray required)
        {
            foreach (var name in required.Select(r => r?.GetValue<string>()))
            {
                if (name is null || node["properties"]?[name] is null)
                {
                    problems.Add($"{path}: required '{name}' is not among its properties");
                }
            }
        }

        if (type == "array")
        {
            if (node["items"] is JsonObject items)
            {
                Walk(items, path + ".items", problems);
            }
            else
            {
                problems.Add($"{path}: an array must have a single items schema");
            }
        }
        else if (node.ContainsKey("items"))
        {
            problems.Add($"{path}: items on a node of type {type}");
        }

        if (node["enum"] is JsonArray values && type is not null)
        {
            foreach (var value in values)
            {
                if (!Matches(type, value))
                {
                    problems.Add($"{path}: enum value {value?.ToJsonString()} is not of type {type}");
                }
            }
        }

        if (node["minLength"] is JsonValue min && node["maxLength"] is JsonValue max && min.GetValue<long>() > max.GetValue<long>())
        {
            problems.Add($"{path}: minLength > maxLength");
        }

        if (node.ContainsKey("pattern") && type != "string")
        {
            problems.Add($"{path}: pattern on a node of type {type}");
        }

        if ((node.ContainsKey("minimum") || node.ContainsKey("maximum")) && type is not "integer" and not "number")
        {
            problems.Add($"{path}: minimum/maximum on a node of type {type}");
        }

        if (Str(node, "x-kubernetes-list-type") == "map")
        {
            var items = node["items"] as JsonObject;
            var keys = node["x-kubernetes-list-map-keys"] as JsonArray;
            if (items is null || Str(items, "type") != "object" || keys is null || keys.Count == 0)
            {
                problems.Add($"{path}: x-kubernetes-list-type map needs object items and x-kubernetes-list-map-keys");
            }
            else
            {
                var itemRequired = (items["required"] as JsonArray)?.Select(r => r?.GetValue<string>()).ToHashSet() ?? [];
                foreach (var k in keys.Select(k => k?.GetValue<string>()))
                {
                    if (k is null || !itemRequired.Contains(k))
                    {
                        problems.Add($"{path}: list map key '{k}' must be required");
                    }
                }
            }
        }
    }

    private static bool Matches(string type, JsonNode? value) => (type, value?.GetValueKind()) switch
    {
        ("string", JsonValueKind.String) => true,
        ("boolean", JsonValueKind.True or JsonValueKind.False) => true,
        ("integer" or "number", JsonValueKind.Number) => true,
        _ => false,
    };

    private static string? Str(JsonObject node, string key) =>
        node[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
