using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Tests.Validation;
using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Tests.Catalog;

/// <summary>The curated rules of catalog.yaml are complete and consistent.</summary>
public class CatalogRulesTests
{
    private static readonly LifecycleCatalog Catalog = CatalogLoader.Default;

    private static IEnumerable<(OperationSpec Op, ParameterSpec P)> All() =>
        Catalog.Operations.SelectMany(o => o.Parameters.Select(p => (o, p)));

    [Fact]
    public void No_parameter_rule_is_still_marked_todo()
    {
        var todo = All().Where(x => x.P.Rule?.Todo == true).Select(x => $"{x.Op.Key}.{x.P.Name}").ToList();
        Assert.True(todo.Count == 0, $"Parameters whose rule still needs curating: {string.Join(", ", todo)}");
    }

    [Fact]
    public void Catalog_has_all_444_parameter_rows_with_names_unique_within_each_operation()
    {
        Assert.Equal(444, All().Count());
        Assert.All(Catalog.Operations, o => Assert.Equal(o.Parameters.Count, o.Parameters.Select(p => p.Name).Distinct().Count()));
    }

    [Fact]
    public void Every_string_parameter_has_a_rule()
    {
        var missing = All().Where(x => x.P.Type == ParameterType.String && x.P.Rule is null).Select(x => $"{x.Op.Key}.{x.P.Name}").ToList();
        Assert.True(missing.Count == 0, $"String parameters without a rule: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_format_named_by_the_catalog_is_known_to_the_validation_library()
    {
        var unknown = All().Where(x => x.P.Rule?.Format is { } f && !FormatRegistry.IsKnown(f)).Select(x => $"{x.Op.Key}.{x.P.Name}: {x.P.Rule!.Format}").ToList();
        Assert.True(unknown.Count == 0, $"Unknown formats: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void Every_decision_named_by_the_catalog_has_an_entry_in_docs_decisions()
    {
        var missing = All().Where(x => x.P.Rule?.Decision is { } d && !CatalogCases.DecisionExists(d))
            .Select(x => $"{x.Op.Key}.{x.P.Name}: {x.P.Rule!.Decision}").Distinct().ToList();
        Assert.True(missing.Count == 0, $"Decisions missing from docs/decisions.md: {string.Join(", ", missing)}");
    }

    [Fact]
    public void An_invalid_example_always_comes_with_a_decision_and_a_valid_replacement()
    {
        foreach (var (op, p) in All().Where(x => x.P.Rule is { ExampleInvalid: true }))
        {
            Assert.False(string.IsNullOrEmpty(p.Rule!.Decision), $"{op.Key}.{p.Name}: exampleInvalid without a decision");
            Assert.False(string.IsNullOrEmpty(p.Rule.ValidExample), $"{op.Key}.{p.Name}: exampleInvalid without validExample");
        }

        Assert.DoesNotContain(All(), x => x.P.Rule is { ExampleInvalid: false, ValidExample: not null });
    }

    [Fact]
    public void Patterns_are_anchored_and_use_only_syntax_that_RE2_and_dotnet_read_alike()
    {
        // The CRD's OpenAPI pattern is evaluated by the API server (Go RE2), the same pattern by .NET here.
        string[] forbidden = ["(?=", "(?!", "(?<", "\\d", "\\w", "\\s", "\\b", "\\1", "\\2", "(?i"];
        foreach (var (op, p) in All().Where(x => x.P.Rule?.Pattern is not null))
        {
            var pattern = p.Rule!.Pattern!;
            Assert.True(pattern.StartsWith('^') && pattern.EndsWith('$'), $"{op.Key}.{p.Name}: pattern {pattern} is not anchored");
            Assert.DoesNotContain(forbidden, f => pattern.Contains(f, StringComparison.Ordinal));
            _ = new System.Text.RegularExpressions.Regex(pattern);
        }
    }

    [Fact]
    public void Ranges_lengths_and_enums_are_well_formed()
    {
        foreach (var (op, p) in All().Where(x => x.P.Rule is not null))
        {
            var r = p.Rule!;
            if (r.Range is { } range)
            {
                Assert.True(range.Count == 2 && range[0] <= range[1], $"{op.Key}.{p.Name}: bad range");
                Assert.NotNull(r.Pattern);
            }

            Assert.True(r.MinLength is null || r.MaxLength is null || r.MinLength <= r.MaxLength, $"{op.Key}.{p.Name}: minLength > maxLength");
            Assert.True(r.Enum is null || (r.Enum.Count > 0 && r.Enum.Distinct().Count() == r.Enum.Count), $"{op.Key}.{p.Name}: bad enum");
            Assert.True(p.Type == ParameterType.String || (r.Pattern is null && r.Enum is null && r.Range is null && r.MinLength is null && r.MaxLength is null),
                $"{op.Key}.{p.Name}: a Boolean parameter carries string constraints");
        }
    }

    [Fact]
    public void References_name_one_of_the_eight_kinds()
    {
        var kinds = Catalog.Kinds.Select(k => k.Kind).ToHashSet();
        Assert.All(All().Where(x => x.P.Rule?.References is not null), x => Assert.Contains(x.P.Rule!.References!, kinds));
    }

    [Fact]
    public void Every_password_and_key_parameter_is_secret()
    {
        var shouldBeSecret = All().Where(x => x.P.Type == ParameterType.String
                                              && (x.P.Name.Contains("password", StringComparison.OrdinalIgnoreCase)
                                                  || x.P.Name.Contains("key", StringComparison.OrdinalIgnoreCase)
                                                  || x.P.Name == "graphics")).ToList();
        Assert.Equal(16, shouldBeSecret.Count);
        Assert.All(shouldBeSecret, x => Assert.True(x.P.Secret, $"{x.Op.Key}.{x.P.Name} is not marked secret"));
        Assert.Contains(All(), x => x.Op.Key == "createPool" && x.P.Name == "url" && x.P.Secret);
    }

    [Fact]
    public void Parameter_types_stay_as_documented()
    {
        // Decision cpu-maximum-flag: changeNumberOfCPU.maximum stays Boolean (the Java SDK sends a boolean).
        Assert.Equal(ParameterType.Boolean, Catalog.Find("VirtualMachine", "changeNumberOfCPU")!.Parameter("maximum")!.Type);
        Assert.Equal(ParameterType.String, Catalog.Find("VirtualMachinePool", "createPool")!.Parameter("force")!.Type);
    }
}
