using KubeStack.Contracts.Catalog;

namespace KubeStack.Contracts.Validation;

/// <summary>Who is being validated: the resource and, once known, the operation. Builds the sentences of the errors.</summary>
public sealed record ValidationContext(string Kind, string Name, string? Operation = null)
{
    private const int MaxShownValue = 200;

    internal string Subject => string.IsNullOrEmpty(Name) ? $"{Kind} (no name)" : $"{Kind} '{Name}'";

    internal string ParameterField(string parameter) => $"spec.lifecycle.{Operation}.{parameter}";

    /// <summary>An error about one parameter: "VirtualMachineDisk 'd1': parameter 'capacity' of operation 'createDisk' must ... (rule range); got '10'."</summary>
    internal ValidationError Parameter(ParameterSpec parameter, string rule, string problem, string? shownValue) =>
        Parameter(parameter.Name, parameter.Secret, rule, problem, shownValue);

    internal ValidationError Parameter(string parameter, bool secret, string rule, string problem, string? shownValue)
    {
        var got = shownValue is null ? ""
            : secret ? "; the value is not shown because the parameter is secret"
            : $"; got {Quote(shownValue)}";
        return new ValidationError(
            ParameterField(parameter), rule,
            $"{Subject}: parameter '{parameter}' of operation '{Operation}' {problem} (rule {rule}){got}.");
    }

    /// <summary>An error about a value of the wrong JSON type: shows the JSON token, not a quoted string.</summary>
    internal ValidationError ParameterJson(ParameterSpec parameter, string rule, string problem, System.Text.Json.Nodes.JsonNode value)
    {
        var json = value.ToJsonString();
        var shown = parameter.Secret ? null : $"the JSON {KindName(value)} {(json.Length > MaxShownValue ? json[..MaxShownValue] + "..." : json)}";
        var got = parameter.Secret ? "; the value is not shown because the parameter is secret" : $"; got {shown}";
        return new ValidationError(
            ParameterField(parameter.Name), rule,
            $"{Subject}: parameter '{parameter.Name}' of operation '{Operation}' {problem} (rule {rule}){got}.");
    }

    private static string KindName(System.Text.Json.Nodes.JsonNode value) => value.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.Number => "number",
        System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Array => "array",
        System.Text.Json.JsonValueKind.Object => "object",
        _ => "value",
    };

    internal static string Quote(string value)
    {
        var shown = value.Length > MaxShownValue ? value[..MaxShownValue] + "..." : value;
        var escaped = new System.Text.StringBuilder(shown.Length + 2);
        foreach (var c in shown)
        {
            if (char.IsControl(c))
            {
                escaped.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
            }
            else
            {
                escaped.Append(c);
            }
        }

        return "'" + escaped + "'";
    }
}
