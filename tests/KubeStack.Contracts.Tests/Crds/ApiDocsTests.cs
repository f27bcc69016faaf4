using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Crds;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>docs/api (issue 2 item 7): one page per kind, every operation with parameters, constraints, example and result.</summary>
public partial class ApiDocsTests
{
    private static readonly LifecycleCatalog Catalog = CatalogLoader.Default;

    public static TheoryData<string> KindNames() => new(Kinds.All);

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Kind_page_documents_every_operation_with_every_parameter(string kind)
    {
        var page = Page(kind);
        foreach (var op in Catalog.OperationsOf(kind))
        {
            var section = Section(page, op.Key);
            Assert.Contains($"**{op.Section}**", section, StringComparison.Ordinal);
            Assert.Contains($"accepts `spec.nodeName`: {(op.AcceptsNodeName ? "yes" : "no")}", section, StringComparison.Ordinal);
            Assert.Contains("- Depends on: ", section, StringComparison.Ordinal);
            Assert.Contains("- Returns: ", section, StringComparison.Ordinal);
            foreach (var p in op.Parameters)
            {
                var row = section.Split('\n').SingleOrDefault(l => l.StartsWith($"| `{p.Name}` |", StringComparison.Ordinal));
                Assert.True(row is not null, $"{kind}.{op.Key}: no table row for parameter {p.Name}");
                Assert.Contains($"| {(p.Required ? "yes" : "no")} |", row, StringComparison.Ordinal);
                Assert.Contains($"| {(p.Type == ParameterType.Boolean ? "boolean" : "string")} |", row, StringComparison.Ordinal);
                if (p.Rule is { Pattern: { } pattern, Todo: false })
                {
                    Assert.Contains(pattern.Replace("|", "\\|", StringComparison.Ordinal), row, StringComparison.Ordinal);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Each_operation_has_an_example_resource_with_its_key_and_the_host_label(string kind)
    {
        var page = Page(kind);
        foreach (var op in Catalog.OperationsOf(kind))
        {
            var block = YamlBlock().Match(Section(page, op.Key));
            Assert.True(block.Success, $"{kind}.{op.Key}: no example");
            var resource = (JsonObject)Yaml11.Parse(block.Groups[1].Value)!;
            Assert.Equal("doslab.io/v1", (string?)resource["apiVersion"]);
            Assert.Equal(kind, (string?)resource["kind"]);
            Assert.False(string.IsNullOrEmpty((string?)resource["metadata"]!["labels"]!["host"]));
            var lifecycle = (JsonObject)resource["spec"]!["lifecycle"]!;
            Assert.Equal([op.Key], lifecycle.Select(p => p.Key));
            Assert.Equal(op.AcceptsNodeName, resource["spec"]!["nodeName"] is not null);
            Assert.True(JsonNode.DeepEquals(ApiDocsBuilder.ExampleResource(Catalog.Kind(kind), op), resource),
                $"{kind}.{op.Key}: the YAML on the page does not read back as the example resource");
            var parameters = (JsonObject)lifecycle[op.Key]!;
            Assert.All(parameters, p => Assert.NotNull(op.Parameter(p.Key)));
        }
    }

    [Fact]
    public void Example_resource_uses_the_valid_example_where_the_catalogs_breaks_the_rule()
    {
        var withValid = Catalog.Operations
            .SelectMany(o => o.Parameters.Select(p => (o, p)))
            .FirstOrDefault(x => x.p.Rule is { ExampleInvalid: true, ValidExample: { Length: > 0 } } && x.p.Type == ParameterType.String);
        Assert.True(withValid.p is not null, "the catalog has no parameter with an invalid example and a valid one");
        var resource = ApiDocsBuilder.ExampleResource(Catalog.Kind(withValid.o.Kind), withValid.o);
        Assert.Equal(withValid.p.Rule!.ValidExample, (string?)resource["spec"]!["lifecycle"]![withValid.o.Key]![withValid.p.Name]);
        Assert.Contains($"does not satisfy its rule", Section(Page(withValid.o.Kind), withValid.o.Key), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Kind_page_says_what_the_resource_returns(string kind)
    {
        var returns = Page(kind).Split("## What the resource returns")[1].Split("## Operations")[0];
        Assert.Contains($"`spec.{Catalog.Kind(kind).ResultKey}`", returns, StringComparison.Ordinal);
        Assert.Contains("`spec.status`", returns, StringComparison.Ordinal);
        Assert.Contains("`.status`", returns, StringComparison.Ordinal);
        Assert.Equal(kind == Kinds.VirtualMachine, returns.Contains("`spec.powerstate`", StringComparison.Ordinal));
    }

    [Fact]
    public void Index_links_every_kind_page_and_crd()
    {
        var index = ApiDocsBuilder.Index(Catalog);
        foreach (var kind in Catalog.Kinds)
        {
            Assert.Contains($"[{kind.Kind}]({ApiDocsBuilder.PageName(kind)})", index, StringComparison.Ordinal);
            Assert.Contains($"(../../crds/{CrdBuilder.FileName(kind)})", index, StringComparison.Ordinal);
            Assert.True(File.Exists(RepoFiles.Path("docs", "api", ApiDocsBuilder.PageName(kind))));
        }
    }

    [Fact]
    public void Table_cells_escape_pipes_so_rows_keep_their_six_columns()
    {
        foreach (var kind in Catalog.Kinds)
        {
            var rows = Page(kind.Kind).Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal));
            Assert.All(rows, row => Assert.Equal(7, UnescapedPipe().Matches(row).Count));
        }
    }

    private static string Page(string kind) => ApiDocsBuilder.KindPage(Catalog, Catalog.Kind(kind));

    private static string Section(string page, string key)
    {
        var start = page.IndexOf($"\n### {key}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section for {key}");
        var end = page.IndexOf("\n### ", start + 5, StringComparison.Ordinal);
        return end < 0 ? page[start..] : page[start..end];
    }

    [GeneratedRegex("```yaml\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex UnescapedPipe();
}
