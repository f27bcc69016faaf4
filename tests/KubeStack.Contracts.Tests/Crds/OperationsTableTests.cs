using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Crds;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>docs/operations.md: the catalog merged with the hand-maintained docs/operations-status.yaml.</summary>
public class OperationsTableTests
{
    private static readonly LifecycleCatalog Catalog = CatalogLoader.Default;

    [Fact]
    public void Table_has_one_row_per_operation_with_kind_key_and_state()
    {
        var table = OperationsTable.Build(Catalog, []);
        var rows = Rows(table);
        Assert.Equal(110, rows.Count);
        Assert.All(Catalog.Operations, op => Assert.Contains(rows, r => r.StartsWith($"| {op.Kind} | {op.Section} | [`{op.Key}`]", StringComparison.Ordinal)));
        Assert.All(rows, r => Assert.Contains("| planned |", r, StringComparison.Ordinal));
        Assert.Contains("Summary: 110 planned.", table, StringComparison.Ordinal);
    }

    [Fact]
    public void State_and_tests_from_the_status_file_appear_in_the_operations_row()
    {
        var status = OperationsTable.ParseStatus("""
            VirtualMachineDisk:
              createDisk:
                state: tested on a real host
                tests: [KubeStack.NodeAgent.Tests.CreateDiskTests.Creates_qcow2, Other.Test]
              deleteDisk:
                state: "not possible on this host: no uus storage"
            """);
        var rows = Rows(OperationsTable.Build(Catalog, status));
        var create = rows.Single(r => r.Contains("[`createDisk`](api/virtualmachinedisk.md#createdisk)", StringComparison.Ordinal));
        Assert.Contains("| tested on a real host | `KubeStack.NodeAgent.Tests.CreateDiskTests.Creates_qcow2`<br>`Other.Test` |", create, StringComparison.Ordinal);
        var delete = rows.Single(r => r.StartsWith("| VirtualMachineDisk | 3.1 |", StringComparison.Ordinal));
        Assert.Contains("| not possible on this host: no uus storage |", delete, StringComparison.Ordinal);
        // the same key of another kind keeps its own state
        Assert.Equal(108, rows.Count(r => r.Contains("| planned |", StringComparison.Ordinal)));
    }

    [Fact]
    public void Status_file_naming_an_unknown_operation_is_rejected_with_its_name()
    {
        var status = OperationsTable.ParseStatus("VirtualMachineDisk:\n  createDsik:\n    state: implemented\n");
        var error = Assert.Throws<InvalidDataException>(() => OperationsTable.Build(Catalog, status));
        Assert.Contains("'VirtualMachineDisk.createDsik' is not an operation of the catalog", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("done")]
    [InlineData("not possible on this host:")]
    [InlineData("tested on a real host up to an unavailable component: ")]
    [InlineData("Implemented")]
    public void Status_file_with_an_unknown_state_is_rejected(string state)
    {
        var status = OperationsTable.ParseStatus($"VirtualMachine:\n  startVM:\n    state: \"{state}\"\n");
        var problems = OperationsTable.Check(Catalog, status);
        Assert.Contains(problems, p => p.Contains($"'VirtualMachine.startVM' has state '{state}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("tested on a real host up to an unavailable component: no IOMMU here", "tested on a real host up to an unavailable component")]
    [InlineData("not possible on this host: no vendor CLI", "not possible on this host")]
    [InlineData("tested on a real host", "tested on a real host")]
    public void States_with_a_reason_are_valid_and_counted_under_their_prefix(string state, string group)
    {
        Assert.True(OperationStates.IsValid(state));
        Assert.Equal(group, OperationStates.Group(state));
    }

    [Fact]
    public void Committed_status_file_matches_the_catalog_and_lists_every_operation()
    {
        var status = OperationsTable.ParseStatus(File.ReadAllText(RepoFiles.Path("docs", OperationsTable.StatusFileName)));
        Assert.Empty(OperationsTable.Check(Catalog, status));
        Assert.All(Catalog.Operations, op => Assert.True(status.GetValueOrDefault(op.Kind)?.ContainsKey(op.Key) ?? false,
            $"docs/{OperationsTable.StatusFileName} has no entry for {op.Kind}.{op.Key}"));
    }

    [Fact]
    public void Status_template_lists_every_operation_as_planned()
    {
        var status = OperationsTable.ParseStatus(OperationsTable.StatusTemplate(Catalog));
        Assert.Equal(110, status.Sum(k => k.Value.Count));
        Assert.All(status.SelectMany(k => k.Value.Values), e => Assert.Equal(OperationStates.Planned, e.State));
    }

    private static List<string> Rows(string table) =>
        table.Split('\n').Where(l => l.StartsWith("| Virtual", StringComparison.Ordinal)).ToList();
}
