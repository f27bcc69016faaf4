using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Libvirt;
using Pool = KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using Vm = KubeStack.NodeAgent.Lifecycle.VirtualMachine;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// Round trips with known data on qemu:///system: blocks written with qemu-io into a shut-off VM's disks, full then
/// incremental backups, the VM damaged or deleted, each version restored and the bytes compared.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class BackupRoundTripTests
{
    private const long MiB = BackupTestKit.MiB;

    [LibvirtFact]
    public async Task Full_then_incremental_backups_restore_each_version_byte_exact_into_the_damaged_VM()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var restore = new Vm.RestoreVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x11, 0, 2 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0xa1, 0, 2 * MiB);

        (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: true))).Ok();
        var v1 = await kit.ManifestAsync(kit.VmVersionDir("v1"));
        Assert.Equal((BackupManifest.KindVm, BackupManifest.ModeFull, BackupManifest.MethodOfflineCopy, true), (v1.Kind, v1.Mode, v1.Method, v1.AllDisks));
        Assert.Equal(["vda", "vdb"], v1.Disks.Select(d => d.Target));
        Assert.True(v1.Disks[0].System);
        Assert.Contains($"<name>{kit.VmName}</name>", v1.DomainXml, StringComparison.Ordinal);
        foreach (var disk in v1.Disks)
        {
            var file = $"{kit.VmVersionDir("v1")}/{disk.File}";
            Assert.Equal(await BackupFiles.Sha256Async(file), disk.Sha256);
            Assert.Equal(new FileInfo(file).Length, disk.Bytes);
        }

        // more writes, then an incremental on v1
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x22, 8 * MiB, 1 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0xa2, 16 * MiB, 1 * MiB);
        var incremental = (await kit.RunVmAsync(backup, kit.Backup("v2", full: false, all: true))).Ok();
        Assert.Contains("incremental (parent v1)", incremental.Message, StringComparison.Ordinal);
        var v2 = await kit.ManifestAsync(kit.VmVersionDir("v2"));
        Assert.Equal((BackupManifest.ModeIncremental, "v1"), (v2.Mode, v2.Parent));
        var v2vda = v2.Disks.Single(d => d.Target == "vda");
        Assert.Equal(["v2", "v1"], v2vda.Chain);
        Assert.Equal("../v1/vda.qcow2", v2vda.BackingFile);
        var info = await QemuImg.Default.InfoAsync($"{kit.VmVersionDir("v2")}/vda.qcow2");
        Assert.Equal("../v1/vda.qcow2", info.BackingFilename);
        Assert.True(v2vda.Bytes < v1.Disks[0].Bytes, $"the incremental vda ({v2vda.Bytes} bytes) should hold only the changes, the full one has {v1.Disks[0].Bytes}");

        // damage the VM's disks
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x66, 0, 12 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0x66, 0, 20 * MiB);

        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "v1", ["all"] = "true" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x11, 0, 2 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x00, 2 * MiB, 10 * MiB);   // v1 predates the 0x22 block
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xa1, 0, 2 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0x00, 16 * MiB, 1 * MiB);

        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "v2", ["all"] = "true" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x11, 0, 2 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x00, 2 * MiB, 6 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x22, 8 * MiB, 1 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xa1, 0, 2 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xa2, 16 * MiB, 1 * MiB);

        // system disk only: the data disk keeps its current content
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x77, 0, 1 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0x77, 0, 1 * MiB);
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "v1" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x11, 0, 2 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0x77, 0, 1 * MiB);
    }

    [LibvirtFact]
    public async Task RestoreVMBackup_of_a_deleted_VM_defines_it_again_and_a_restore_to_newname_makes_a_second_VM_with_the_same_bytes()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var restore = new Pool.RestoreVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x31, 0, 1 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0xb1, 4 * MiB, 1 * MiB);
        (await kit.RunVmAsync(backup, kit.Backup("base", full: true, all: true))).Ok();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x32, 1 * MiB, 1 * MiB);
        (await kit.RunVmAsync(backup, kit.Backup("inc1", full: false, all: true))).Ok();

        // delete the VM: domain undefined, disk files removed
        using (var domain = kit.Connection.LookupDomainByName(kit.VmName))
        {
            domain.Undefine();
        }

        File.Delete(kit.SystemDisk);
        File.Delete(kit.DataDisk);

        var restored = (await kit.RunPoolAsync(restore, new JsonObject
        {
            ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "inc1", ["all"] = "true",
        })).Ok();
        Assert.Contains("defined again", restored.Message, StringComparison.Ordinal);
        using (var domain = kit.Connection.LookupDomainByName(kit.VmName))
        {
            Assert.False(domain.IsActive());
        }

        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x31, 0, 1 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x32, 1 * MiB, 1 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xb1, 4 * MiB, 1 * MiB);

        // to a new VM in the backup pool
        var newName = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("bkcopy"));
        (await kit.RunPoolAsync(restore, new JsonObject
        {
            ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "inc1", ["all"] = "true", ["newname"] = newName, ["target"] = kit.BackupPool,
        })).Ok();
        using (var copy = kit.Connection.LookupDomainByName(newName))
        {
            var disks = BackupSources.DisksOf(kit.Connection, copy.GetXmlDesc(DomainXmlFlags.Inactive));
            Assert.Equal(new[] { ("vda", $"{kit.BackupPoolPath}/{newName}"), ("vdb", $"{kit.BackupPoolPath}/{newName}-vdb") }, disks);
            using var original = kit.Connection.LookupDomainByName(kit.VmName);
            Assert.NotEqual(original.Uuid, copy.Uuid);
        }

        await BackupTestKit.AssertReadsAsync($"{kit.BackupPoolPath}/{newName}", 0x31, 0, 1 * MiB);
        await BackupTestKit.AssertReadsAsync($"{kit.BackupPoolPath}/{newName}", 0x32, 1 * MiB, 1 * MiB);
        await BackupTestKit.AssertReadsAsync($"{kit.BackupPoolPath}/{newName}-vdb", 0xb1, 4 * MiB, 1 * MiB);

        // the same newname again is refused
        (await kit.RunPoolAsync(restore, new JsonObject
        {
            ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "inc1", ["newname"] = newName, ["target"] = kit.BackupPool,
        })).Fails(ErrorClasses.VirtctlError);
    }

    [LibvirtFact]
    public async Task BackupDisk_full_and_incremental_restore_over_the_disk_and_as_a_new_disk_attached_to_another_VM()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk.BackupDiskHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var restore = new Pool.RestoreDiskHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var volumeName = Path.GetFileName(kit.DataDisk);
        var view = new JsonObject { ["pool"] = kit.DiskPool };
        await BackupTestKit.WriteAsync(kit.DataDisk, 0xc1, 0, 1 * MiB);
        (await StorageTestKit.RunAsync(backup, volumeName, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "d1", ["full"] = "true" },
            volumeView: view)).Ok();
        await BackupTestKit.WriteAsync(kit.DataDisk, 0xc2, 2 * MiB, 1 * MiB);
        (await StorageTestKit.RunAsync(backup, volumeName, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "d2", ["domain"] = kit.VmName },
            volumeView: view)).Ok();
        var dir = $"{kit.Area}/{kit.VmName}/disks/{volumeName}";
        var d2 = await kit.ManifestAsync($"{dir}/d2");
        Assert.Equal((BackupManifest.KindDisk, BackupManifest.ModeIncremental, "d1", "vdb"), (d2.Kind, d2.Mode, d2.Parent, d2.Disks[0].Target));

        await BackupTestKit.WriteAsync(kit.DataDisk, 0x66, 0, 4 * MiB);
        (await kit.RunPoolAsync(restore, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["vol"] = volumeName, ["version"] = "d2" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xc1, 0, 1 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0x00, 1 * MiB, 1 * MiB);
        await BackupTestKit.AssertReadsAsync(kit.DataDisk, 0xc2, 2 * MiB, 1 * MiB);

        // as a new disk attached to a second VM
        var other = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("bkother"));
        var otherDisk = await kit.Storage.NewDiskAsync(kit.DiskPool, kit.DiskPoolPath, other, BackupTestKit.DiskSize);
        using (kit.Connection.DefineXml(BackupTestKit.DomainXml(other, otherDisk)))
        {
        }

        var newDisk = LabEnvironment.UniqueName("bkdisk");
        var done = (await kit.RunPoolAsync(restore, new JsonObject
        {
            ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["vol"] = volumeName, ["version"] = "d1", ["newname"] = newDisk, ["targetDomain"] = other,
        })).Ok();
        Assert.Contains($"attached to VM {other} as vdb", done.Message, StringComparison.Ordinal);
        await BackupTestKit.AssertReadsAsync($"{kit.DiskPoolPath}/{newDisk}", 0xc1, 0, 1 * MiB);
        await BackupTestKit.AssertReadsAsync($"{kit.DiskPoolPath}/{newDisk}", 0x00, 2 * MiB, 1 * MiB);
        using var otherDomain = kit.Connection.LookupDomainByName(other);
        Assert.Contains(("vdb", $"{kit.DiskPoolPath}/{newDisk}"), BackupSources.DisksOf(kit.Connection, otherDomain.GetXmlDesc(DomainXmlFlags.Inactive)));
    }

    [LibvirtFact]
    public async Task A_running_VM_is_backed_up_through_a_libvirt_push_backup_job_full_and_incremental()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var restore = new Vm.RestoreVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x41, 0, 1 * MiB);
        using var domain = kit.Connection.LookupDomainByName(kit.VmName);
        domain.Create();

        (await kit.RunVmAsync(backup, kit.Backup("r1", full: true, all: false))).Ok();
        var r1 = await kit.ManifestAsync(kit.VmVersionDir("r1"));
        Assert.Equal((BackupManifest.MethodLibvirtBackup, false), (r1.Method, r1.AllDisks));
        Assert.Equal(["vda"], r1.Disks.Select(d => d.Target));
        Assert.Empty(Directory.GetFiles(kit.VmVersionDir("r1"), ".*"));   // no scratch file left

        (await kit.RunVmAsync(backup, kit.Backup("r2", full: false, all: false))).Ok();
        var r2 = await kit.ManifestAsync(kit.VmVersionDir("r2"));
        Assert.Equal((BackupManifest.MethodLibvirtBackup, BackupManifest.ModeIncremental, "r1"), (r2.Method, r2.Mode, r2.Parent));

        // a restore refuses a running VM and changes nothing
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "r2" })).Fails(ErrorClasses.VirtctlError);
        domain.Destroy();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x66, 0, 1 * MiB);
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "r2" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x41, 0, 1 * MiB);
    }
}
