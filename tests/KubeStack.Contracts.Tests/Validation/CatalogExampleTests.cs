using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Validation;
using static KubeStack.Contracts.Tests.Validation.CatalogCases;

namespace KubeStack.Contracts.Tests.Validation;

/// <summary>Every documented example validates, or the catalog says why it cannot (exampleInvalid + a decision).</summary>
public class CatalogExampleTests
{
    public static TheoryData<string, string, string> DocumentedExamples => Parameters(p => p.Rule is not { ExampleInvalid: true });

    public static TheoryData<string, string, string> InvalidExamples => Parameters(p => p.Rule is { ExampleInvalid: true });

    [Theory]
    [MemberData(nameof(DocumentedExamples))]
    public void Documented_example_satisfies_its_parameter_rule(string kind, string key, string parameter)
    {
        var op = Operation(kind, key);
        var p = Parameter(kind, key, parameter);
        var error = ParameterValidator.Validate(Context(op), p, DocumentedValue(p));
        Assert.True(error is null, $"The documented example of {key}.{parameter} is rejected: {error?.Message}");
    }

    [Theory]
    [MemberData(nameof(InvalidExamples))]
    public void Example_marked_invalid_is_rejected_and_its_decision_is_recorded(string kind, string key, string parameter)
    {
        var op = Operation(kind, key);
        var p = Parameter(kind, key, parameter);
        Assert.True(DecisionExists(p.Rule!.Decision!), $"docs/decisions.md has no entry '{p.Rule.Decision}'");
        Assert.NotNull(ParameterValidator.Validate(Context(op), p, DocumentedValue(p)));
        var replacement = ParameterValidator.Validate(Context(op), p, ValidValue(p));
        Assert.True(replacement is null, $"The validExample of {key}.{parameter} is rejected: {replacement?.Message}");
    }

    [Theory]
    [MemberData(nameof(Operations), MemberType = typeof(CatalogCases))]
    public void Request_with_every_required_parameter_at_its_example_validates(string kind, string key)
    {
        var op = Operation(kind, key);
        var errors = Validate(op, BaselineParameters(op));
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(e => e.Message)));
    }

    [Theory]
    [MemberData(nameof(Operations), MemberType = typeof(CatalogCases))]
    public void Each_optional_parameter_at_its_example_is_accepted_in_a_valid_request(string kind, string key)
    {
        var op = Operation(kind, key);
        foreach (var p in op.Parameters.Where(p => !p.Required))
        {
            var body = BaselineParameters(op);
            body[p.Name] = p.Type == ParameterType.Boolean ? System.Text.Json.Nodes.JsonValue.Create(false) : ValidValue(p);
            var errors = Validate(op, body).Where(e => e.Field.EndsWith("." + p.Name, StringComparison.Ordinal) && e.Rule != RuleIds.PoolOptions).ToList();
            Assert.True(errors.Count == 0, $"{key}.{p.Name}: " + string.Join(Environment.NewLine, errors.Select(e => e.Message)));
        }
    }
}
