using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Tests.Catalog;

/// <summary>What the runtime does with an operation's effect (create: scheduled, finalizer; delete: the object is deleted).</summary>
public class CatalogEffectTests
{
    [Theory]
    [InlineData("createDiskInternalSnapshot")]
    [InlineData("revertDiskInternalSnapshot")]
    [InlineData("deleteDiskInternalSnapshot")]
    public void Internal_snapshot_operations_act_on_an_existing_disk_and_never_create_or_delete_the_disk_object(string key) =>
        Assert.Equal(OperationEffect.Update, CatalogLoader.Default.Find(Kinds.VirtualMachineDisk, key)!.Effect);
}
