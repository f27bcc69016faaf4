using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Migration;

/// <summary>
/// migrateVM and migrateVMDisk between the lab's two libvirt daemons (docs/migration.md): real virDomainMigrate3 calls,
/// outcomes checked on both hosts (domain present/absent and state, the guest's serial log, disk bytes).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VmMigrationTests
{
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(120);

    private static async Task<string> NewDiskAsync(string dir, string name = "vda.qcow2")
    {
        var path = Path.Combine(dir, name);
        await QemuImg.Default.CreateAsync(path, "qcow2", 64L * 1024 * 1024);
        return path;
    }

    [Node2Fact]
    public async Task LiveMigration_IsRefusedByLibvirtAsUnsafeWithoutTheSharedStorageSetting_ThenMovesTheRunningGuestToTheTarget()
    {
        using var lab = new MigrationLab();
        var disk = await NewDiskAsync(lab.NewDir("migvm"));
        var (name, log) = lab.DefineGuest(disk);
        using (var d = lab.Source.LookupDomainByName(name)) d.Create();
        await Await.LineAsync(log, "LAB-TICK", Boot);

        // 1. libvirt 9.0 treats a local file system as unshared: without VIR_MIGRATE_UNSAFE it refuses, and rolls back
        var strict = await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(allowUnsafe: false), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.TargetAddress });
        var refused = strict.Fails(ErrorClasses.LibvirtError);
        Assert.Contains("Unsafe migration", refused.Message, StringComparison.Ordinal);
        Assert.Contains(MigrationLab.TargetNode, refused.Message, StringComparison.Ordinal);
        Assert.False(MigrationLab.Has(lab.Target, name), "a refused migration must leave nothing on the target");
        using (var d = lab.Source.LookupDomainByName(name)) Assert.Equal(DomainState.Running, d.GetState().State);

        // 2. with the lab's setting (both daemons share one kernel and file system) the guest moves while it runs
        var before = Await.LineCount(log);
        var result = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(allowUnsafe: true), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.TargetAddress })).Ok();
        Assert.Equal(MigrationLab.TargetNode, result.MovedToNode);
        Assert.Equal(PowerStates.Running, result.PowerState);
        Assert.Equal(name, result.View?["name"]?["text"]?.GetValue<string>());
        Assert.False(MigrationLab.Has(lab.Source, name), "the source must forget the migrated VM (undefined, not running)");
        using (var onTarget = lab.Target.LookupDomainByName(name))
        {
            Assert.Equal(DomainState.Running, onTarget.GetState().State);
            Assert.True(onTarget.IsPersistent(), "the target keeps a persistent definition");
        }

        // the same guest (no reboot: no new LAB-GUEST-BOOTED) keeps ticking on the target
        var tick = await Await.LineAsync(log, "LAB-TICK", Boot, afterLine: before + 1);
        Assert.StartsWith("LAB-TICK", tick.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadLines(log).Skip(before), l => l.Contains("LAB-GUEST-BOOTED", StringComparison.Ordinal));
    }

    [Node2Fact]
    public async Task OfflineMigration_MovesTheShutOffVmsPersistentDefinitionAndUndefinesTheSource()
    {
        using var lab = new MigrationLab();
        var disk = await NewDiskAsync(lab.NewDir("migoff"));
        var (name, _) = lab.DefineGuest(disk);
        Guid uuid;
        using (var d = lab.Source.LookupDomainByName(name)) uuid = d.Uuid;

        var result = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(allowUnsafe: false), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.TargetAddress, ["offline"] = "true" })).Ok();

        Assert.Equal(MigrationLab.TargetNode, result.MovedToNode);
        Assert.Equal(PowerStates.Shutdown, result.PowerState);
        Assert.False(MigrationLab.Has(lab.Source, name));
        using var onTarget = lab.Target.LookupDomainByName(name);
        Assert.Equal(uuid, onTarget.Uuid);
        Assert.Equal(DomainState.Shutoff, onTarget.GetState().State);
        Assert.True(onTarget.IsPersistent());
        Assert.Contains(disk, onTarget.GetXmlDesc(DomainXmlFlags.Inactive), StringComparison.Ordinal);

        // a resumed attempt (crash after the migration) finds the VM on the target: success, nothing done twice
        var again = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(false), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.TargetAddress, ["offline"] = true }, attempt: 2)).Ok();
        Assert.Equal(MigrationLab.TargetNode, again.MovedToNode);
    }

    [Node2Fact]
    public async Task MigrateVM_OfAShutOffVmWithoutOffline_IsRefusedAndChangesNothing()
    {
        using var lab = new MigrationLab();
        var (name, _) = lab.DefineGuest(await NewDiskAsync(lab.NewDir("migno")));

        var failure = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(false), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.TargetAddress })).Fails(ErrorClasses.VirtctlError);

        Assert.Contains("offline=true", failure.Message, StringComparison.Ordinal);
        Assert.True(MigrationLab.Has(lab.Source, name));
        Assert.False(MigrationLab.Has(lab.Target, name));
    }

    [Node2Fact]
    public async Task MigrateVM_ToAnUnreachableTarget_IsALibvirtErrorNamingTheTarget_AndTheVmStays()
    {
        using var lab = new MigrationLab();
        var (name, _) = lab.DefineGuest(await NewDiskAsync(lab.NewDir("migdead")));

        var failure = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(false), lab.Targets), name,
            new JsonObject { ["ip"] = MigrationLab.DeadAddress, ["offline"] = "true" })).Fails(ErrorClasses.LibvirtError);

        Assert.Contains($"qemu+tcp://{MigrationLab.DeadAddress}/system", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", failure.Message, StringComparison.Ordinal);
        Assert.True(MigrationLab.Has(lab.Source, name));
        Assert.False(MigrationLab.Has(lab.Target, name));
    }

    [Node2Fact]
    public async Task MigrateVM_ToAnAddressNoNodePublishes_IsRefusedNamingTheParameter()
    {
        using var lab = new MigrationLab();
        var (name, _) = lab.DefineGuest(await NewDiskAsync(lab.NewDir("migunk")));

        var failure = (await MigrationLab.RunAsync(new MigrateVMHandler(lab.VmHost(false), lab.Targets), name,
            new JsonObject { ["ip"] = "192.0.2.77", ["offline"] = "true" })).Fails(ErrorClasses.VirtctlError);

        Assert.Contains("migrateVM.ip", failure.Message, StringComparison.Ordinal);
        Assert.Contains("192.0.2.77", failure.Message, StringComparison.Ordinal);
        Assert.True(MigrationLab.Has(lab.Source, name));
    }

    [Node2Fact]
    public async Task MigrateVMDisk_CopiesVerifiedDisksIntoTheTargetPool_MovesTheVmOntoThem_AndOnlyThenRemovesTheSources()
    {
        using var lab = new MigrationLab();
        var (sourcePool, sourceDir) = lab.NewPool(lab.Source, "migsrc");
        var (targetPool, targetDir) = lab.NewPool(lab.Target, "migdst");
        var vda = await NewDiskAsync(sourceDir, "vda.qcow2");
        var vdb = await NewDiskAsync(sourceDir, "vdb.qcow2");
        await StorageTestKit.WriteAsync(vda, 0x5a, 0, 1024 * 1024);
        await StorageTestKit.WriteAsync(vdb, 0xa5, 4 * 1024 * 1024, 512 * 1024);
        using (var p = lab.Source.LookupStoragePoolByName(sourcePool)) p.Refresh();
        var sums = new[] { vda, vdb }.ToDictionary(p => Path.GetFileName(p), p => NodeAgent.Lifecycle.Common.MigrationVolumes.HashFile(p, CancellationToken.None));
        var (name, _) = lab.DefineGuest(vda);
        using (var d = lab.Source.LookupDomainByName(name))
        {
            d.AttachDeviceFlags(LabGuest.DiskDeviceXml(vdb, "vdb"), DomainModificationFlags.Config);
        }

        var result = (await MigrationLab.RunAsync(new MigrateVMDiskHandler(lab.VmHost(false), lab.Targets), name, new JsonObject
        {
            ["ip"] = MigrationLab.TargetAddress,
            ["migratedisks"] = $"vol={vda},pool={targetPool};disk={vdb},pool={targetPool}",
        })).Ok();

        Assert.Equal(MigrationLab.TargetNode, result.MovedToNode);
        Assert.False(MigrationLab.Has(lab.Source, name));
        Assert.False(File.Exists(vda), "the source volume is removed after the switch");
        Assert.False(File.Exists(vdb));
        using var onTarget = lab.Target.LookupDomainByName(name);
        var xml = onTarget.GetXmlDesc(DomainXmlFlags.Inactive);
        foreach (var (file, sum) in sums)
        {
            var copy = Path.Combine(targetDir, file);
            Assert.Contains($"file='{copy}'", xml, StringComparison.Ordinal);
            Assert.Equal(sum, NodeAgent.Lifecycle.Common.MigrationVolumes.HashFile(copy, CancellationToken.None));
        }

        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(targetDir, "vda.qcow2"), 0x5a, 0, 1024 * 1024));
        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(targetDir, "vdb.qcow2"), 0xa5, 4 * 1024 * 1024, 512 * 1024));
        using var pool = lab.Target.LookupStoragePoolByName(targetPool);
        pool.Refresh();
        using var vol = pool.LookupStorageVolByName("vda.qcow2");
        Assert.Contains("type='qcow2'", vol.GetXmlDesc(), StringComparison.Ordinal);
    }

    [Node2Fact]
    public async Task MigrateVMDisk_IntoAPoolTheTargetDoesNotHave_IsRefusedBeforeAnythingIsCopied()
    {
        using var lab = new MigrationLab();
        var (_, sourceDir) = lab.NewPool(lab.Source, "migsrc");
        var vda = await NewDiskAsync(sourceDir);
        var (name, _) = lab.DefineGuest(vda);

        var failure = (await MigrationLab.RunAsync(new MigrateVMDiskHandler(lab.VmHost(false), lab.Targets), name, new JsonObject
        {
            ["ip"] = MigrationLab.TargetAddress,
            ["migratedisks"] = $"vol={vda},pool=kst-nopool",
        })).Fails(ErrorClasses.VirtctlError);

        Assert.Contains("kst-nopool", failure.Message, StringComparison.Ordinal);
        Assert.Contains(MigrationLab.TargetNode, failure.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(vda));
        Assert.True(MigrationLab.Has(lab.Source, name));
        Assert.False(MigrationLab.Has(lab.Target, name));
    }
}
