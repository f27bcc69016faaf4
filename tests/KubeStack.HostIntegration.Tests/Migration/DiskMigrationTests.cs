using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Migration;

/// <summary>migrateDisk between pools of one node and onto the second lab node, bytes checked on disk.</summary>
[Collection(LabCollection.Name)]
public sealed class DiskMigrationTests
{
    private static async Task<(string Name, string Path, string Sha)> NewDiskAsync(MigrationLab lab, string pool, string dir)
    {
        var name = LabEnvironment.UniqueName("mdisk");
        var path = Path.Combine(dir, name);
        await QemuImg.Default.CreateAsync(path, "qcow2", 64L * 1024 * 1024);
        await StorageTestKit.WriteAsync(path, 0x3c, 2 * 1024 * 1024, 1024 * 1024);
        using (var p = lab.Source.LookupStoragePoolByName(pool)) p.Refresh();
        return (name, path, MigrationVolumes.HashFile(path, CancellationToken.None));
    }

    private static JsonObject VolumeView(string pool) => new() { ["pool"] = pool, ["poolname"] = pool, ["disktype"] = "localfs" };

    private static MigrateDiskHandler Handler(MigrationLab lab, params (string Name, string Node)[] pools) =>
        new(lab.Libvirt, QemuImg.Default, lab.Targets, new PoolObjects(pools));

    [Node2Fact]
    public async Task MigrateDisk_ToAnotherPoolOfTheSameNode_MovesTheVolumeByteForByte_AndStaysOnTheNode()
    {
        using var lab = new MigrationLab();
        var (from, fromDir) = lab.NewPool(lab.Source, "mdsrc");
        var (to, toDir) = lab.NewPool(lab.Source, "mddst");
        var (name, path, sha) = await NewDiskAsync(lab, from, fromDir);

        var result = (await MigrationLab.RunAsync(Handler(lab), name, new JsonObject { ["pool"] = to }, VolumeView(from))).Ok();

        var moved = Path.Combine(toDir, name);
        Assert.Null(result.MovedToNode);
        Assert.False(File.Exists(path));
        Assert.Equal(sha, MigrationVolumes.HashFile(moved, CancellationToken.None));
        Assert.True(await StorageTestKit.ReadsAsync(moved, 0x3c, 2 * 1024 * 1024, 1024 * 1024));
        Assert.Equal(to, result.View?["pool"]?.GetValue<string>());
        Assert.Equal(moved, result.View?["filename"]?.GetValue<string>());
        Assert.Equal("qcow2", result.View?["format"]?.GetValue<string>());
    }

    [Node2Fact]
    public async Task MigrateDisk_ToAPoolOnTheOtherNode_CopiesThroughLibvirtStreams_AndHandsTheDiskToThatNode()
    {
        using var lab = new MigrationLab();
        var (from, fromDir) = lab.NewPool(lab.Source, "mdsrc");
        var (to, toDir) = lab.NewPool(lab.Target, "mdremote");
        var (name, path, sha) = await NewDiskAsync(lab, from, fromDir);

        var result = (await MigrationLab.RunAsync(Handler(lab, (to, MigrationLab.TargetNode)), name, new JsonObject { ["pool"] = to },
            VolumeView(from))).Ok();

        Assert.Equal(MigrationLab.TargetNode, result.MovedToNode);
        Assert.False(File.Exists(path));
        using (var source = lab.Source.LookupStoragePoolByName(from))
        {
            source.Refresh();
            Assert.Null(source.TryLookupStorageVolByName(name));
        }

        using var pool = lab.Target.LookupStoragePoolByName(to);
        pool.Refresh();
        using var vol = pool.LookupStorageVolByName(name);
        Assert.Equal(Path.Combine(toDir, name), vol.GetPath());
        Assert.Equal(sha, MigrationVolumes.HashFile(vol.GetPath(), CancellationToken.None));
        Assert.True(await StorageTestKit.ReadsAsync(vol.GetPath(), 0x3c, 2 * 1024 * 1024, 1024 * 1024));
        Assert.Equal("qcow2", result.View?["format"]?.GetValue<string>());
        Assert.Equal((64L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), result.View?["virtual_size"]?.GetValue<string>());
    }

    [Node2Fact]
    public async Task MigrateDisk_OfADiskAVmUses_IsRefusedNamingTheVm_AndNothingMoves()
    {
        using var lab = new MigrationLab();
        var (from, fromDir) = lab.NewPool(lab.Source, "mdsrc");
        var (to, toDir) = lab.NewPool(lab.Source, "mddst");
        var (name, path, sha) = await NewDiskAsync(lab, from, fromDir);
        var (vm, _) = lab.DefineGuest(path);

        var failure = (await MigrationLab.RunAsync(Handler(lab), name, new JsonObject { ["pool"] = to }, VolumeView(from)))
            .Fails(ErrorClasses.VirtctlError);

        Assert.Contains(vm, failure.Message, StringComparison.Ordinal);
        Assert.Equal(sha, MigrationVolumes.HashFile(path, CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(toDir, name)));
    }

    [Node2Fact]
    public async Task MigrateDisk_WhenTheTargetPoolHoldsADifferentVolumeOfThatName_RefusesAndOverwritesNothing()
    {
        using var lab = new MigrationLab();
        var (from, fromDir) = lab.NewPool(lab.Source, "mdsrc");
        var (to, toDir) = lab.NewPool(lab.Target, "mdremote");
        var (name, path, sha) = await NewDiskAsync(lab, from, fromDir);
        var squatter = Path.Combine(toDir, name);
        await QemuImg.Default.CreateAsync(squatter, "qcow2", 32L * 1024 * 1024);
        var squatterSha = MigrationVolumes.HashFile(squatter, CancellationToken.None);

        var failure = (await MigrationLab.RunAsync(Handler(lab, (to, MigrationLab.TargetNode)), name, new JsonObject { ["pool"] = to },
            VolumeView(from))).Fails(ErrorClasses.VirtctlError);

        Assert.Contains("already has a volume named", failure.Message, StringComparison.Ordinal);
        Assert.Equal(sha, MigrationVolumes.HashFile(path, CancellationToken.None));
        Assert.Equal(squatterSha, MigrationVolumes.HashFile(squatter, CancellationToken.None));
    }
}
