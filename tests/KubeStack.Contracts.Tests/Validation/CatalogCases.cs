using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Tests.Validation;

/// <summary>Test rows and request builders generated from the catalog data.</summary>
internal static class CatalogCases
{
    public const string ResourceName = "test-object";

    public static LifecycleCatalog Catalog => CatalogLoader.Default;

    /// <summary>
    /// Values that make the examples of one operation consistent with each other where the documented examples
    /// contradict a cross-field rule (documented in docs/decisions.md): createPool's example url is a uus URL while
    /// its example type is dir; plugNIC's example type is bridge while its example source sets ip= and switch=
    /// (l3bridge only); cleanVMBackup needs a version or all=true.
    /// </summary>
    private static readonly Dictionary<(string Key, string Parameter), JsonNode> Consistent = new()
    {
        [("createPool", "url")] = JsonValue.Create("/var/lib/libvirt/pools/pooltest"),
        [("plugNIC", "type")] = JsonValue.Create("l3bridge"),
        [("cleanVMBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
        [("cleanVMRemoteBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
    };

    public static OperationSpec Operation(string kind, string key) =>
        Catalog.Find(kind, key) ?? throw new InvalidOperationException($"{kind}/{key} is not in the catalog.");

    public static ParameterSpec Parameter(string kind, string key, string name) =>
        Operation(kind, key).Parameter(name) ?? throw new InvalidOperationException($"{kind}/{key}.{name} is not in the catalog.");

    /// <summary>The value the tests use as valid: the documented example, or the rule's validExample where the decision says the example cannot pass.</summary>
    public static string ValidText(ParameterSpec p) =>
        p.Rule is { ExampleInvalid: true } r ? r.ValidExample ?? throw new InvalidOperationException($"{p.Name}: exampleInvalid without validExample") : p.Example;

    public static JsonNode ValidValue(ParameterSpec p) =>
        p.Type == ParameterType.Boolean ? JsonValue.Create(bool.Parse(ValidText(p))) : JsonValue.Create(ValidText(p));

    /// <summary>The documented example as a client would send it (Boolean examples that are not true/false are sent as strings).</summary>
    public static JsonNode DocumentedValue(ParameterSpec p) =>
        p.Type == ParameterType.Boolean && bool.TryParse(p.Example, out var b) ? JsonValue.Create(b) : JsonValue.Create(p.Example);

    /// <summary>A valid request body: every required parameter with a valid value (flags false unless they must be true).</summary>
    public static JsonObject BaselineParameters(OperationSpec op)
    {
        var body = new JsonObject();
        foreach (var p in op.Parameters.Where(p => p.Required))
        {
            body[p.Name] = p.Type == ParameterType.Boolean && p.Rule?.Format != FormatRegistry.MustBeTrue
                ? JsonValue.Create(false)
                : ValidValue(p);
        }

        foreach (var ((key, name), value) in Consistent.Where(c => c.Key.Key == op.Key))
        {
            body[name] = value.DeepClone();
        }

        return body;
    }

    public static JsonObject Spec(string key, JsonObject parameters, string? nodeName = null)
    {
        var spec = new JsonObject { ["lifecycle"] = new JsonObject { [key] = parameters } };
        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }

        return spec;
    }

    public static IReadOnlyList<ValidationError> Validate(OperationSpec op, JsonObject parameters) =>
        RequestValidator.Validate(op.Kind, ResourceName, Spec(op.Key, parameters));

    public static ValidationContext Context(OperationSpec op) => new(op.Kind, ResourceName, op.Key);

    public static TheoryData<string, string> Operations()
    {
        var data = new TheoryData<string, string>();
        foreach (var op in Catalog.Operations)
        {
            data.Add(op.Kind, op.Key);
        }

        return data;
    }

    public static TheoryData<string, string, string> Parameters(Func<ParameterSpec, bool> filter)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var op in Catalog.Operations)
        {
            foreach (var p in op.Parameters.Where(filter))
            {
                data.Add(op.Kind, op.Key, p.Name);
            }
        }

        return data;
    }

    /// <summary>The repository root (where docs/decisions.md lives), found from the test's output folder.</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("The repository root (KubeStack.Operator.sln) was not found.");
    }

    private static readonly Lazy<string> DecisionsText = new(() => File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "decisions.md")));

    /// <summary>True when docs/decisions.md has an entry headed with the decision id.</summary>
    public static bool DecisionExists(string id) => DecisionsText.Value.Contains($"## `{id}`", StringComparison.Ordinal);
}
