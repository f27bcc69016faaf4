using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>
/// What the API server does with an object against a structural schema, for the keywords the generator uses:
/// type, required, properties (unknown fields are pruned unless preserved), enum, pattern (unanchored, as Go's
/// regexp), minLength/maxLength (in characters), maxProperties, minimum.
/// </summary>
internal static class SchemaCheck
{
    public sealed record Outcome(List<string> Errors, List<string> Pruned);

    public static Outcome Validate(JsonObject schema, JsonNode? value)
    {
        var outcome = new Outcome([], []);
        Check(schema, value, "", outcome);
        return outcome;
    }

    private static void Check(JsonObject schema, JsonNode? value, string path, Outcome outcome)
    {
        if (value is null || path == ".metadata")
        {
            return; // nulls of non-nullable fields are pruned; metadata is ObjectMeta, checked by the API server itself
        }

        var type = schema["type"]?.GetValue<string>();
        var kind = value.GetValueKind();
        switch (type)
        {
            case "object" when value is not JsonObject:
            case "array" when value is not JsonArray:
            case "string" when kind != JsonValueKind.String:
            case "boolean" when kind is not JsonValueKind.True and not JsonValueKind.False:
            case "integer" or "number" when kind != JsonValueKind.Number:
                outcome.Errors.Add($"{path}: must be of type {type}, got {kind}");
                return;
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
        {
            outcome.Errors.Add($"{path}: {value.ToJsonString()} is not one of {values.ToJsonString()}");
        }

        if (kind == JsonValueKind.String)
        {
            var text = value.GetValue<string>();
            var length = text.EnumerateRunes().Count();
            if (schema["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
            {
                outcome.Errors.Add($"{path}: '{text}' does not match {pattern}");
            }

            if (schema["minLength"] is JsonValue min && length < min.GetValue<long>())
            {
                outcome.Errors.Add($"{path}: shorter than {min}");
            }

            if (schema["maxLength"] is JsonValue max && length > max.GetValue<long>())
            {
                outcome.Errors.Add($"{path}: longer than {max}");
            }
        }

        if (kind == JsonValueKind.Number && schema["minimum"] is JsonValue minimum
            && double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture) < minimum.GetValue<double>())
        {
            outcome.Errors.Add($"{path}: less than {minimum}");
        }

        if (value is JsonObject obj)
        {
            if (schema["maxProperties"] is JsonValue maxProperties && obj.Count > maxProperties.GetValue<long>())
            {
                outcome.Errors.Add($"{path}: has {obj.Count} properties, at most {maxProperties} allowed");
            }

            foreach (var name in (schema["required"] as JsonArray)?.Select(r => r!.GetValue<string>()) ?? [])
            {
                if (!obj.ContainsKey(name))
                {
                    outcome.Errors.Add($"{path}.{name}: Required value");
                }
            }

            var properties = schema["properties"] as JsonObject;
            var preserve = schema["x-kubernetes-preserve-unknown-fields"]?.GetValueKind() == JsonValueKind.True;
            foreach (var (name, child) in obj)
            {
                if (properties?[name] is JsonObject childSchema)
                {
                    Check(childSchema, child, $"{path}.{name}", outcome);
                }
                else if (!preserve)
                {
                    outcome.Pruned.Add($"{path}.{name}");
                }
            }
        }

        if (value is JsonArray array && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Check(items, array[i], $"{path}[{i}]", outcome);
            }
        }
    }
}
