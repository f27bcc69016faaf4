using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Validation;

namespace KubeStack.Reliability.Tests;

/// <summary>What a generated case makes hostile.</summary>
public enum HostileCaseKind
{
    /// <summary>The request's shape: unknown key, two lifecycle keys, parameters not an object, huge object.</summary>
    Shape,
    /// <summary>A parameter of the wrong JSON type.</summary>
    WrongType,
    /// <summary>A parameter carrying one of <see cref="HostileCases.HostileStrings"/>.</summary>
    HostileString,
    /// <summary>An integer parameter just outside its range.</summary>
    OutOfRange,
}

/// <summary>One generated request: <see cref="Spec"/> is the whole <c>spec</c> (with <c>spec.lifecycle</c>).</summary>
public sealed record HostileCase(OperationSpec Operation, string? Parameter, string Description, HostileCaseKind Kind, JsonObject Spec, string? Text = null)
{
    public string Label => Parameter is null ? $"{Operation.Key}: {Description}" : $"{Operation.Key}.{Parameter}: {Description}";
}

/// <summary>
/// The generator of invalid requests for every operation key of the catalog. A valid baseline request is built from the
/// catalog examples for each key, then one thing is made hostile. Used by the admission suite (HostileInputTests) and,
/// past admission, by the host suite against a running agent (KubeStack.HostIntegration.Tests, Hostile/).
/// </summary>
public static class HostileCases
{
    /// <summary>Strings that are syntax to a shell, a path resolver, a line-based protocol or a SQL/XML parser.</summary>
    public static readonly string[] HostileStrings =
    [
        "../../../../etc/shadow", "/var/lib/libvirt/../../../etc/passwd", "a;reboot", "$(reboot)", "`id`", "a|nc -l 4444", "a && rm -rf /",
        "a\nb", "a\r\nInjected: header", "name\u0000tail", "' OR '1'='1", "<xml attr='x'/>", "-rf", "--help", "%s%s%s%n", "é\u202Egnp.exe",
        "", " ", new string('a', 70_000),
    ];

    private static readonly Dictionary<(string Key, string Parameter), JsonNode> Consistent = new()
    {
        [("createPool", "url")] = JsonValue.Create("/var/lib/libvirt/pools/pooltest"),
        [("plugNIC", "type")] = JsonValue.Create("l3bridge"),
        [("cleanVMBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
        [("cleanVMRemoteBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
    };

    /// <summary>The parameter's documented valid value (booleans: true only where the rule demands it).</summary>
    public static JsonNode Valid(ParameterSpec p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var text = p.Rule is { ExampleInvalid: true, ValidExample: { } valid } ? valid : p.Example;
        return p.Type == ParameterType.Boolean
            ? JsonValue.Create(p.Rule?.Format == FormatRegistry.MustBeTrue)
            : JsonValue.Create(text);
    }

    /// <summary>Every required parameter at its documented valid value (and the documented cross-field fixes).</summary>
    public static JsonObject Baseline(OperationSpec op)
    {
        ArgumentNullException.ThrowIfNull(op);
        var body = new JsonObject();
        foreach (var p in op.Parameters.Where(p => p.Required))
        {
            body[p.Name] = Valid(p);
        }

        foreach (var ((key, name), value) in Consistent.Where(c => c.Key.Key == op.Key))
        {
            body[name] = value.DeepClone();
        }

        return body;
    }

    public static JsonObject Spec(string key, JsonNode parameters) => new() { ["lifecycle"] = new JsonObject { [key] = parameters } };

    /// <summary>The baseline of <paramref name="op"/> with <paramref name="parameter"/> set to <paramref name="value"/>.</summary>
    public static JsonObject With(OperationSpec op, string parameter, JsonNode? value, Func<OperationSpec, JsonObject>? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        var body = (baseline ?? Baseline)(op);
        body[parameter] = value;
        return Spec(op.Key, body);
    }

    /// <summary>Six object-level cases per operation key (unknown key, two lifecycle keys, wrong shapes, 2,000 extra keys).</summary>
    public static IEnumerable<HostileCase> ShapeCases(OperationSpec op, Func<OperationSpec, JsonObject>? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        baseline ??= Baseline;
        var other = CatalogLoader.Default.OperationsOf(op.Kind).First(o => o.Key != op.Key);
        var unknown = baseline(op);
        unknown["zzUnknownKey"] = "x";
        var huge = baseline(op);
        for (var i = 0; i < 2_000; i++)
        {
            huge[$"k{i}"] = new string('x', 100);
        }

        yield return new(op, null, "unknown key", HostileCaseKind.Shape, Spec(op.Key, unknown));
        yield return new(op, null, "two lifecycle keys", HostileCaseKind.Shape,
            new JsonObject { ["lifecycle"] = new JsonObject { [op.Key] = baseline(op), [other.Key] = baseline(other) } });
        yield return new(op, null, "parameters as a string", HostileCaseKind.Shape, Spec(op.Key, JsonValue.Create("a;reboot")));
        yield return new(op, null, "parameters as an array", HostileCaseKind.Shape, Spec(op.Key, new JsonArray(1, 2)));
        yield return new(op, null, "2,000 extra keys", HostileCaseKind.Shape, Spec(op.Key, huge));
        yield return new(op, null, "lifecycle as a string", HostileCaseKind.Shape, new JsonObject { ["lifecycle"] = op.Key });
    }

    /// <summary>Per parameter: 4 wrong JSON types; each hostile string (not for booleans); range boundaries min−1, max+1, 2^63−1.</summary>
    public static IEnumerable<HostileCase> ParameterCases(OperationSpec op, Func<OperationSpec, JsonObject>? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(op);
        foreach (var p in op.Parameters)
        {
            var wrongTypes = p.Type == ParameterType.Boolean
                ? new JsonNode?[] { JsonValue.Create("maybe"), JsonValue.Create(2), new JsonObject(), new JsonArray() }
                : [JsonValue.Create(42), JsonValue.Create(true), new JsonObject { ["a"] = 1 }, new JsonArray("a")];
            foreach (var value in wrongTypes)
            {
                yield return new(op, p.Name, $"wrong type {value!.ToJsonString()}", HostileCaseKind.WrongType, With(op, p.Name, value, baseline));
            }

            if (p.Type == ParameterType.Boolean)
            {
                continue;
            }

            foreach (var text in HostileStrings)
            {
                yield return new(op, p.Name, Show(text), HostileCaseKind.HostileString, With(op, p.Name, JsonValue.Create(text), baseline), text);
            }

            if (p.Rule?.Range is [var min, var max])
            {
                foreach (var outside in new[] { min - 1, max + 1, long.MaxValue }.Where(v => v < min || v > max))
                {
                    var text = outside.ToString(CultureInfo.InvariantCulture);
                    yield return new(op, p.Name, $"{text} outside [{min}, {max}]", HostileCaseKind.OutOfRange,
                        With(op, p.Name, JsonValue.Create(text), baseline), text);
                }
            }
        }
    }

    /// <summary>
    /// What the parameter's declared rule allows (enum, pattern, lengths, range); a value it allows is data the handlers
    /// must pass as one argument (no shell: CliWrap argument arrays), so accepting it is correct. Format rules decide themselves.
    /// </summary>
    public static bool RuleAllows(ParameterSpec p, string text)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(text);
        if (p.Rule is not { } rule)
        {
            return true;
        }

        if (rule.Enum is { } values && !values.Contains(text))
        {
            return false;
        }

        if (rule.Pattern is { } pattern && !Regex.IsMatch(text, pattern))
        {
            return false;
        }

        if ((rule.MaxLength is { } max && text.Length > max) || (rule.MinLength is { } min && text.Length < min))
        {
            return false;
        }

        return rule.Range is not [var lo, var hi]
            || (long.TryParse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture, out var n) && n >= lo && n <= hi);
    }

    public static string Show(string text) => text.Length > 40 ? $"a {text.Length}-character string" : System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>True when an error names <paramref name="parameter"/> (in its field or its message).</summary>
    public static bool NamesField(IEnumerable<ValidationError> errors, string parameter) =>
        errors.Any(e => e.Field.Contains(parameter, StringComparison.Ordinal) || e.Message.Contains(parameter, StringComparison.Ordinal));
}
