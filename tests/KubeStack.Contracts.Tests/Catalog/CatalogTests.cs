using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Tests.Catalog;

public class CatalogTests
{
    private static readonly LifecycleCatalog Catalog = CatalogLoader.Default;

    [Fact]
    public void Catalog_has_110_operations_over_the_8_kinds()
    {
        Assert.Equal(110, Catalog.Operations.Count);
        Assert.Equal(Kinds.All.OrderBy(k => k), Catalog.Kinds.Select(k => k.Kind).OrderBy(k => k));
        Assert.All(Catalog.Operations, o => Assert.Contains(o.Kind, Kinds.All));
    }

    [Theory]
    [InlineData("VirtualMachine", 55)]
    [InlineData("VirtualMachineImage", 3)]
    [InlineData("VirtualMachineDisk", 12)]
    [InlineData("VirtualMachineDiskImage", 3)]
    [InlineData("VirtualMachineDiskSnapshot", 3)]
    [InlineData("VirtualMachineSnapshot", 5)]
    [InlineData("VirtualMachinePool", 17)]
    [InlineData("VirtualMachineNetwork", 12)]
    public void Each_kind_has_its_documented_number_of_operations(string kind, int count) =>
        Assert.Equal(count, Catalog.OperationsOf(kind).Count());

    [Fact]
    public void Operation_keys_are_unique_within_a_kind() =>
        Assert.DoesNotContain(Catalog.Operations.GroupBy(o => (o.Kind, o.Key)), g => g.Count() > 1);
}
