using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// Validates a lifecycle request against the catalog: the one operation key under <c>spec.lifecycle</c> and its kind,
/// documented parameters only, required ones present, JSON types, each parameter's rule, the cross-field rules, the
/// resource name and <c>spec.nodeName</c>. Pure: no cluster access (existence of referenced objects, named by
/// <see cref="ParameterRule.References"/>, is checked by the operator).
/// </summary>
public static class RequestValidator
{
    /// <summary>Every broken rule of the request, in a stable order (name, node, operation, parameters, cross-field).</summary>
    public static IReadOnlyList<ValidationError> Validate(string kind, string name, JsonObject? spec, LifecycleCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        catalog ??= CatalogLoader.Default;
        name ??= "";
        var context = new ValidationContext(kind, name);
        var errors = new List<ValidationError>();

        if (!catalog.Kinds.Any(k => k.Kind == kind))
        {
            errors.Add(new ValidationError("kind", RuleIds.UnknownKind,
                $"{context.Subject}: the kind '{kind}' is not one of {string.Join(", ", catalog.Kinds.Select(k => k.Kind))} (rule {RuleIds.UnknownKind})."));
            return errors;
        }

        if (name.Length == 0)
        {
            errors.Add(new ValidationError("metadata.name", RuleIds.Required,
                $"{kind} (no name): metadata.name is required (rule {RuleIds.Required})."));
        }
        else if (NameRules.CheckName(name) is [var nameProblem, ..])
        {
            errors.Add(new ValidationError("metadata.name", RuleIds.Name,
                $"{context.Subject}: the resource name {nameProblem} (rule {RuleIds.Name}); got {ValidationContext.Quote(name)}."));
        }

        if (spec is null)
        {
            return errors;
        }

        if (spec["nodeName"] is { } node)
        {
            if (node.GetValueKind() != JsonValueKind.String)
            {
                errors.Add(new ValidationError("spec.nodeName", RuleIds.Type,
                    $"{context.Subject}: spec.nodeName must be a JSON string (rule {RuleIds.Type}); got {node.ToJsonString()}."));
            }
            else if (NameRules.CheckNodeName(node.GetValue<string>()) is [var nodeProblem, ..])
            {
                errors.Add(new ValidationError("spec.nodeName", RuleIds.NodeName,
                    $"{context.Subject}: spec.nodeName {nodeProblem}, as Kubernetes node names do (rule {RuleIds.NodeName}); got {ValidationContext.Quote(node.GetValue<string>())}."));
            }
        }

        if (spec["lifecycle"] is not { } lifecycleNode)
        {
            return errors;
        }

        if (lifecycleNode is not JsonObject lifecycle)
        {
            errors.Add(new ValidationError("spec.lifecycle", RuleIds.Type,
                $"{context.Subject}: spec.lifecycle must be an object with one operation key (rule {RuleIds.Type}); got {lifecycleNode.ToJsonString()}."));
            return errors;
        }

        if (lifecycle.Count > 1)
        {
            errors.Add(new ValidationError("spec.lifecycle", RuleIds.SingleOperation,
                $"{context.Subject}: spec.lifecycle must hold exactly one operation, but it holds {lifecycle.Count}: {string.Join(", ", lifecycle.Select(p => p.Key))} (rule {RuleIds.SingleOperation}); submit them one after the other."));
            return errors;
        }

        if (lifecycle.Count == 0)
        {
            return errors;
        }

        var (key, body) = lifecycle.First();
        var operation = catalog.Find(kind, key);
        if (operation is null)
        {
            errors.Add(UnknownOperation(catalog, context, key));
            return errors;
        }

        context = context with { Operation = key };
        JsonObject parameters;
        if (body is null)
        {
            parameters = [];
        }
        else if (body is JsonObject o)
        {
            parameters = o;
        }
        else
        {
            errors.Add(new ValidationError($"spec.lifecycle.{key}", RuleIds.Type,
                $"{context.Subject}: operation '{key}' must be an object of parameters (rule {RuleIds.Type}); got {body.ToJsonString()}."));
            return errors;
        }

        errors.AddRange(ValidateParameters(context, operation, parameters));
        return errors;
    }

    /// <summary>Like <see cref="Validate"/>, wrapped in a <see cref="ValidationResult"/>.</summary>
    public static ValidationResult Check(string kind, string name, JsonObject? spec, LifecycleCatalog? catalog = null) =>
        new(Validate(kind, name, spec, catalog));

    /// <summary>Validates a whole object as JSON: reads kind, metadata.name and spec.</summary>
    public static ValidationResult CheckObject(JsonObject resource, LifecycleCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var kind = resource["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : "";
        var name = resource["metadata"]?["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : "";
        return Check(kind, name, resource["spec"] as JsonObject, catalog);
    }

    /// <summary>The message an admission webhook returns: the first error, or null when the request is valid.</summary>
    public static string? FirstErrorMessage(string kind, string name, JsonObject? spec, LifecycleCatalog? catalog = null) =>
        Check(kind, name, spec, catalog).FirstMessage;

    private static List<ValidationError> ValidateParameters(ValidationContext context, OperationSpec operation, JsonObject parameters)
    {
        var errors = new List<ValidationError>();
        var valid = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
        {
            var spec = operation.Parameter(name);
            if (spec is null)
            {
                errors.Add(UnknownParameter(context, operation, name));
                continue;
            }

            if (value is null)
            {
                continue; // null is absent, as the API server prunes it
            }

            var error = ParameterValidator.Validate(context, spec, value);
            if (error is null)
            {
                valid[name] = value;
            }
            else
            {
                errors.Add(error);
            }
        }

        foreach (var missing in operation.Parameters.Where(p => p.Required && parameters[p.Name] is null))
        {
            errors.Add(context.Parameter(missing, RuleIds.Required,
                $"is required ({missing.Description.TrimEnd('.')}; e.g. {Example(missing)})", null));
        }

        var present = parameters.Where(p => p.Value is not null && operation.Parameter(p.Key) is not null).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        errors.AddRange(CrossFieldRules.Check(context, operation, valid, present));
        return errors;
    }

    private static string Example(ParameterSpec p)
    {
        if (p.Secret)
        {
            return "see the API reference";
        }

        var example = p.Rule is { ExampleInvalid: true, ValidExample: { } v } ? v : p.Example;
        return p.Type == ParameterType.Boolean ? example : ValidationContext.Quote(example);
    }

    private static ValidationError UnknownParameter(ValidationContext context, OperationSpec operation, string name)
    {
        var documented = operation.Parameters.Count == 0
            ? "it takes no parameters"
            : "documented parameters are " + string.Join(", ", operation.Parameters.Select(p => p.Name));
        var similar = operation.Parameters.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                      ?? operation.Parameters.Where(p => Distance(p.Name, name) <= SuggestionDistance(name)).OrderBy(p => Distance(p.Name, name)).FirstOrDefault();
        var hint = similar is null ? "" : $"; did you mean '{similar.Name}'?";
        return new ValidationError(context.ParameterField(name), RuleIds.UnknownParameter,
            $"{context.Subject}: parameter '{name}' is not documented for operation '{operation.Key}' ({documented}){hint} (rule {RuleIds.UnknownParameter}); its value is not shown.");
    }

    private static ValidationError UnknownOperation(LifecycleCatalog catalog, ValidationContext context, string key)
    {
        var elsewhere = catalog.Operations.Where(o => o.Key == key).Select(o => o.Kind).Distinct().ToList();
        if (elsewhere.Count > 0)
        {
            return new ValidationError($"spec.lifecycle.{key}", RuleIds.WrongKind,
                $"{context.Subject}: operation '{key}' does not belong to {context.Kind}; it is an operation of {string.Join(" and ", elsewhere)}, so create or use a {elsewhere[0]} for it (rule {RuleIds.WrongKind}).");
        }

        var candidates = catalog.OperationsOf(context.Kind).Select(o => o.Key).ToList();
        var similar = candidates.FirstOrDefault(c => string.Equals(c, key, StringComparison.OrdinalIgnoreCase))
                      ?? candidates.OrderBy(c => Distance(c, key)).FirstOrDefault(c => Distance(c, key) <= SuggestionDistance(key));
        var hint = similar is null ? "" : $"; did you mean '{similar}'?";
        return new ValidationError($"spec.lifecycle.{key}", RuleIds.UnknownOperation,
            $"{context.Subject}: operation '{key}' is not an operation of the lifecycle catalog{hint} (rule {RuleIds.UnknownOperation}); {context.Kind} supports {string.Join(", ", candidates)}.");
    }

    /// <summary>How many edits a typo may have before a suggestion stops being helpful.</summary>
    private static int SuggestionDistance(string typed) => typed.Length switch { < 5 => 1, < 10 => 2, _ => 3 };

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }
}
