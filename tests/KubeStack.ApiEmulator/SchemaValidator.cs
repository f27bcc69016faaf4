using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KubeStack.ApiEmulator;

/// <summary>
/// Validates, prunes and defaults a custom resource against its CRD's structural openAPIV3Schema, the way
/// apiextensions-apiserver does (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation,
/// #field-pruning, #defaulting-and-nullable). Error texts follow kube-openapi's validation messages as converted to
/// field errors by apiextensions-apiserver, e.g.
/// <c>spec.x: Invalid value: "10": spec.x in body should match '^[0-9]+$'</c>.
/// Not covered: x-kubernetes-validations (CEL rules), formats other than the plain types, uniqueItems.
/// </summary>
public sealed class SchemaValidator
{
    readonly List<FieldError> _errors = [];
    readonly List<string> _unknown = [];
    static readonly Dictionary<string, Regex> Patterns = new(StringComparer.Ordinal);
    static readonly Lock PatternsGate = new();

    public IReadOnlyList<FieldError> Errors => _errors;
    /// <summary>Paths of fields the schema does not know (pruned); reported for fieldValidation=Strict|Warn.</summary>
    public IReadOnlyList<string> UnknownFields => _unknown;

    /// <summary>Prunes unknown fields, applies defaults and validates <paramref name="obj"/> (modified in place).</summary>
    public static SchemaValidator Run(JsonObject obj, JsonObject? schema)
    {
        var v = new SchemaValidator();
        if (schema is null) return v;
        // apiVersion, kind and metadata are always kept; metadata is validated as ObjectMeta elsewhere.
        var top = (JsonObject)schema.DeepClone();
        if (top["properties"] is JsonObject tp) { tp.Remove("metadata"); tp.Remove("apiVersion"); tp.Remove("kind"); }
        if (top["required"] is JsonArray req)
            top["required"] = new JsonArray(req.Where(r => Meta.Str(r) is not ("metadata" or "apiVersion" or "kind")).Select(r => r?.DeepClone()).ToArray());
        v.Walk(obj, top, "", isRoot: true);
        return v;
    }

    static bool IsPreserve(JsonObject s) => s["x-kubernetes-preserve-unknown-fields"] is JsonValue pv && pv.GetValueKind() == JsonValueKind.True;
    static bool Flag(JsonObject s, string name) => s[name] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    static string Show(JsonNode? v) => v switch
    {
        null => "\"null\"",
        JsonValue j when j.GetValueKind() == JsonValueKind.String => JsonSerializer.Serialize(j.GetValue<string>()),
        JsonValue j => j.ToJsonString(),
        JsonObject => "\"object\"",
        JsonArray => "\"array\"",
        _ => v.ToJsonString(),
    };

    static string TypeOf(JsonNode? v) => v switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue j => j.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => IsInteger(j) ? "integer" : "number",
            _ => "null",
        },
        _ => "unknown",
    };

    static bool IsInteger(JsonValue j)
    {
        var text = j.ToJsonString();
        return !text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase);
    }

    void Invalid(string path, JsonNode? value, string detail, string reason = "FieldValueInvalid") =>
        _errors.Add(new FieldError(reason, path, $"Invalid value: {Show(value)}: {detail}"));

    void Walk(JsonNode? value, JsonObject s, string path, bool isRoot = false)
    {
        var type = Meta.Str(s["type"]);
        bool intOrString = Flag(s, "x-kubernetes-int-or-string");

        if (value is null)
        {
            if (Flag(s, "nullable")) return;
            if (type is not null)
                _errors.Add(new FieldError("FieldValueTypeInvalid", path, $"Invalid value: \"null\": {path} in body must be of type {type}: \"null\""));
            return;
        }

        var actual = TypeOf(value);
        if (intOrString)
        {
            if (actual is not ("integer" or "string"))
                _errors.Add(new FieldError("FieldValueTypeInvalid", path, $"Invalid value: {Show(actual)}: {path} in body must be of type integer,string: {Show(actual)}"));
        }
        else if (type is not null && type != actual && !(type == "number" && actual == "integer"))
        {
            _errors.Add(new FieldError("FieldValueTypeInvalid", path, $"Invalid value: {Show(actual)}: {path} in body must be of type {type}: {Show(actual)}"));
            return;
        }

        switch (value)
        {
            case JsonObject o: WalkObject(o, s, path, isRoot); break;
            case JsonArray a: WalkArray(a, s, path); break;
            case JsonValue j: WalkScalar(j, s, path, actual); break;
        }

        if (s["enum"] is JsonArray en && !en.Any(e => JsonNode.DeepEquals(e, value)))
            _errors.Add(new FieldError("FieldValueNotSupported", path, $"Unsupported value: {Show(value)}: supported values: {string.Join(", ", en.Select(Show))}"));

        if (s["allOf"] is JsonArray all)
            foreach (var sub in all.OfType<JsonObject>()) Walk(value, sub, path);
        if (s["anyOf"] is JsonArray any && !any.OfType<JsonObject>().Any(sub => Passes(value, sub, path)))
            Invalid(path, value, $"{path} in body should match at least one schema in anyOf", "FieldValueInvalid");
        if (s["oneOf"] is JsonArray one)
        {
            var n = one.OfType<JsonObject>().Count(sub => Passes(value, sub, path));
            if (n != 1) Invalid(path, value, $"{path} in body should match exactly one schema in oneOf");
        }
        if (s["not"] is JsonObject not && Passes(value, not, path))
            Invalid(path, value, $"{path} in body must not validate the schema 'not'");
    }

    static bool Passes(JsonNode? value, JsonObject sub, string path)
    {
        var v = new SchemaValidator();
        v.Walk(value?.DeepClone(), sub, path);
        return v._errors.Count == 0;
    }

    void WalkObject(JsonObject o, JsonObject s, string path, bool isRoot)
    {
        var props = s["properties"] as JsonObject;
        var additional = s["additionalProperties"];
        bool preserve = IsPreserve(s) || Flag(s, "x-kubernetes-embedded-resource");

        // defaults first (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#defaulting)
        if (props is not null)
            foreach (var (name, ps) in props)
                if (ps is JsonObject pso && pso["default"] is { } def && !o.ContainsKey(name))
                    o[name] = def.DeepClone();

        foreach (var (name, child) in o.ToList())
        {
            var childPath = Join(path, name);
            if (props is not null && props[name] is JsonObject cs)
            {
                if (child is null && !Flag(cs, "nullable")) { o.Remove(name); continue; } // null on a non-nullable field is pruned
                Walk(child, cs, childPath);
            }
            else if (additional is JsonObject addSchema)
            {
                if (child is null && !Flag(addSchema, "nullable")) { o.Remove(name); continue; }
                Walk(child, addSchema, childPath);
            }
            else if (preserve || additional is JsonValue av && av.GetValueKind() == JsonValueKind.True)
            {
                // x-kubernetes-preserve-unknown-fields: kept as is
            }
            else if (!isRoot || name is not ("apiVersion" or "kind" or "metadata"))
            {
                _unknown.Add(childPath);
                o.Remove(name);
            }
        }

        if (s["required"] is JsonArray req)
            foreach (var r in req.Select(Meta.Str).OfType<string>())
                if (!o.ContainsKey(r))
                    _errors.Add(new FieldError("FieldValueRequired", Join(path, r), "Required value"));

        if (Num(s, "maxProperties") is { } maxP && o.Count > maxP)
            _errors.Add(new FieldError("FieldValueTooMany", path, $"Too many: {o.Count}: must have at most {maxP} items"));
        if (Num(s, "minProperties") is { } minP && o.Count < minP)
            Invalid(path, o, $"{path} in body should have at least {minP} properties");
    }

    void WalkArray(JsonArray a, JsonObject s, string path)
    {
        if (s["items"] is JsonObject items)
            for (int i = 0; i < a.Count; i++)
                Walk(a[i], items, $"{path}[{i}]");
        if (Num(s, "maxItems") is { } max && a.Count > max)
            _errors.Add(new FieldError("FieldValueTooMany", path, $"Too many: {a.Count}: must have at most {max} items"));
        if (Num(s, "minItems") is { } min && a.Count < min)
            Invalid(path, a, $"{path} in body should have at least {min} items");
    }

    void WalkScalar(JsonValue j, JsonObject s, string path, string actual)
    {
        if (actual == "string")
        {
            var str = j.GetValue<string>();
            var len = new StringInfo(str).LengthInTextElements;
            if (Num(s, "maxLength") is { } maxL && len > maxL)
                _errors.Add(new FieldError("FieldValueTooLong", path, $"Too long: may not be more than {maxL} bytes"));
            if (Num(s, "minLength") is { } minL && len < minL)
                Invalid(path, j, $"{path} in body should be at least {minL} chars long");
            if (Meta.Str(s["pattern"]) is { } pattern && !Pattern(pattern).IsMatch(str))
                Invalid(path, j, $"{path} in body should match '{pattern}'");
        }
        else if (actual is "integer" or "number")
        {
            var d = Meta.AsDouble(j);
            bool exMin = Flag(s, "exclusiveMinimum"), exMax = Flag(s, "exclusiveMaximum");
            if (Num(s, "minimum") is { } min && (exMin ? d <= min : d < min))
                Invalid(path, j, $"{path} in body should be greater than {(exMin ? "" : "or equal to ")}{Fmt(min)}");
            if (Num(s, "maximum") is { } max && (exMax ? d >= max : d > max))
                Invalid(path, j, $"{path} in body should be less than {(exMax ? "" : "or equal to ")}{Fmt(max)}");
            if (Num(s, "multipleOf") is { } mul && mul != 0 && Math.Abs(d / mul % 1) > 1e-9)
                Invalid(path, j, $"{path} in body should be a multiple of {Fmt(mul)}");
        }
    }

    static string Fmt(double d) => d.ToString(CultureInfo.InvariantCulture);

    static double? Num(JsonObject s, string name) =>
        s[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? Meta.AsDouble(v) : null;

    static Regex Pattern(string p)
    {
        lock (PatternsGate)
        {
            if (!Patterns.TryGetValue(p, out var r))
                Patterns[p] = r = new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return r;
        }
    }

    static readonly Regex QualifiedNamePart = new("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Label keys are qualified names (optional DNS subdomain prefix and '/', then at most 63 characters), values at most
    /// 63 characters of the same alphabet (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
    /// </summary>
    public static IEnumerable<FieldError> ValidateLabels(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (key, value) in labels)
        {
            var slash = key.LastIndexOf('/');
            var (prefix, name) = slash >= 0 ? (key[..slash], key[(slash + 1)..]) : ("", key);
            if (name.Length == 0 || name.Length > 63 || !QualifiedNamePart.IsMatch(name) || (slash >= 0 && (prefix.Length == 0 || prefix.Length > 253 || !Dns1123Subdomain.IsMatch(prefix))))
                yield return new FieldError("FieldValueInvalid", "metadata.labels",
                    $"Invalid value: {JsonSerializer.Serialize(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
            if (value.Length > 63)
                yield return new FieldError("FieldValueInvalid", "metadata.labels", $"Invalid value: {JsonSerializer.Serialize(value)}: must be no more than 63 characters");
            else if (value.Length > 0 && !QualifiedNamePart.IsMatch(value))
                yield return new FieldError("FieldValueInvalid", "metadata.labels",
                    $"Invalid value: {JsonSerializer.Serialize(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
        }
    }

    static readonly Regex Dns1123Subdomain = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant);

    /// <summary>metadata.name must be a DNS-1123 subdomain (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names).</summary>
    public static FieldError? ValidateName(string name)
    {
        if (name.Length > 253 || !Dns1123Subdomain.IsMatch(name))
            return new FieldError("FieldValueInvalid", "metadata.name",
                $"Invalid value: {JsonSerializer.Serialize(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
        return null;
    }
}
