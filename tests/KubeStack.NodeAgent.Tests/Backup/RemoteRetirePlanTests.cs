using KubeStack.NodeAgent.Lifecycle.Common.Backups;

namespace KubeStack.NodeAgent.Tests.Backup;

/// <summary>
/// Which remote versions deleteRemoteBackupServer removes for a node (docs/decisions.md remote-backup-server): only
/// complete versions that node made, never one a kept version's chain reaches, never a version without a readable manifest.
/// </summary>
public sealed class RemoteRetirePlanTests
{
    private static RemoteVersion Version(string version, string node, params string[] parents) =>
        new(version, BackupManifestTests.Manifest(version, parents.FirstOrDefault()) with
        {
            Node = node,
            Disks = [BackupManifestTests.Disk(version, parents.FirstOrDefault()) with { Chain = [version, .. parents] }],
        }, null);

    [Fact]
    public void Removes_the_nodes_versions_and_keeps_other_nodes_versions()
    {
        var plan = RemoteBackupStore.PlanRetire([Version("a1", "node1"), Version("b1", "node2"), Version("a2", "node1", "a1")], "node1");

        Assert.Equal(["a1", "a2"], plan.Removed);
        Assert.Equal(["b1"], plan.KeptOtherNodes);
        Assert.Empty(plan.KeptAsParents);
    }

    [Fact]
    public void Keeps_the_whole_chain_under_another_nodes_incremental_version()
    {
        // f1 <- i2 <- i3 made here, i4 made by node2 on i3 (the VM moved): the chain i4 needs stays, i5 (on i3, here) goes
        var plan = RemoteBackupStore.PlanRetire(
        [
            Version("f1", "node1"), Version("i2", "node1", "f1"), Version("i3", "node1", "i2", "f1"),
            Version("i4", "node2", "i3", "i2", "f1"), Version("i5", "node1", "i3", "i2", "f1"),
        ], "node1");

        Assert.Equal(["i5"], plan.Removed);
        Assert.Equal(["f1", "i2", "i3"], plan.KeptAsParents);
        Assert.Equal(["i4"], plan.KeptOtherNodes);
    }

    [Fact]
    public void Partial_and_damaged_versions_of_unknown_origin_are_kept()
    {
        var plan = RemoteBackupStore.PlanRetire([new RemoteVersion("p1", null, null), new RemoteVersion("d1", null, "not JSON"), Version("a1", "node1")], "node1");

        Assert.Equal(["a1"], plan.Removed);
        Assert.Equal(["p1", "d1 (damaged)"], plan.KeptUnknown);
        Assert.Equal(2, plan.Kept);
    }

    [Fact]
    public void A_node_with_nothing_there_removes_nothing()
    {
        var plan = RemoteBackupStore.PlanRetire([Version("b1", "node2")], "node1");

        Assert.Empty(plan.Removed);
        Assert.Equal(1, plan.Kept);
    }
}
