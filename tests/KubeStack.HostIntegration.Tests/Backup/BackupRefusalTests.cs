using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using Pool = KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using Vm = KubeStack.NodeAgent.Lifecycle.VirtualMachine;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>Refusals and failure paths of the local backup operations on a real host: each leaves the VM and the backup area as they were.</summary>
[Collection(LabCollection.Name)]
public sealed class BackupRefusalTests
{
    private const long MiB = BackupTestKit.MiB;

    [LibvirtFact]
    public async Task A_restore_refuses_a_damaged_chain_a_detached_data_disk_and_all_on_a_system_only_backup_without_touching_the_VM()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var restore = new Vm.RestoreVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x11, 0, 1 * MiB);
        await BackupTestKit.WriteAsync(kit.DataDisk, 0x12, 0, 1 * MiB);
        (await kit.RunVmAsync(backup, kit.Backup("f1", full: true, all: true))).Ok();
        (await kit.RunVmAsync(backup, kit.Backup("sys", full: true, all: false))).Ok();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x13, 1 * MiB, 1 * MiB);
        (await kit.RunVmAsync(backup, kit.Backup("i1", full: false, all: true))).Ok();
        Assert.Equal("sys", (await kit.ManifestAsync(kit.VmVersionDir("i1"))).Parent);   // the newest complete version
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x66, 0, 2 * MiB);

        // all=true on a system-only version
        var systemOnly = (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "sys", ["all"] = "true" }))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Contains("holds only the system disk", systemOnly.Message, StringComparison.Ordinal);

        // damage the parent's data file: the incremental's restore verifies the whole chain first
        var parentFile = $"{kit.VmVersionDir("sys")}/vda.qcow2";
        await using (var stream = new FileStream(parentFile, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Seek(-1, SeekOrigin.End);
            var last = stream.ReadByte();
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte((byte)(last ^ 0xff));
        }

        var damaged = (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "i1" })).Fails(ErrorClasses.VirtctlError);
        Assert.Contains(parentFile, damaged.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", damaged.Message, StringComparison.Ordinal);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x66, 0, 2 * MiB);

        // detach the data disk: an all-disk restore is refused, a system-disk restore still works
        using (var domain = kit.Connection.LookupDomainByName(kit.VmName))
        {
            domain.DetachDeviceFlags(
                $"<disk type='file' device='disk'><source file='{kit.DataDisk}'/><target dev='vdb' bus='virtio'/></disk>", DomainModificationFlags.Config);
        }

        var detached = (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "f1", ["all"] = "true" }))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Contains("must still be attached", detached.Message, StringComparison.Ordinal);
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x66, 0, 2 * MiB);
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "f1" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x11, 0, 1 * MiB);

        // unknown version, unknown pool, a VM without domain
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "nope" })).Fails(ErrorClasses.VirtctlError);
        (await kit.RunVmAsync(backup, new JsonObject { ["pool"] = "kst-no-such-pool", ["version"] = "x1" })).Fails(ErrorClasses.LibvirtError);
        (await kit.RunVmAsync(backup, kit.Backup("x2", full: true, all: false), name: "kst-no-such-vm")).Fails(ErrorClasses.VirtletError);
        (await kit.RunVmAsync(backup, kit.Backup("../escape", full: true, all: false))).Fails(ErrorClasses.VirtctlError);
    }

    [LibvirtFact]
    public async Task An_existing_version_is_never_overwritten_and_a_resumed_attempt_that_finds_it_complete_succeeds()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: false))).Ok();
        var before = await kit.ManifestAsync(kit.VmVersionDir("v1"));
        var again = (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: false))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("never overwritten", again.Message, StringComparison.Ordinal);
        var resumed = (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: false), attempt: 2)).Ok();
        Assert.Contains("interrupted attempt", resumed.Message, StringComparison.Ordinal);
        Assert.Equal(before.Created, (await kit.ManifestAsync(kit.VmVersionDir("v1"))).Created);
    }

    [LibvirtFact]
    public async Task A_symbolic_link_inside_the_backup_area_is_refused_and_nothing_outside_it_is_read_or_removed()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var outside = kit.Storage.Cleanup.PathToDelete(Directory.CreateTempSubdirectory("kst-backup-outside-").FullName);
        var victim = Path.Combine(outside, "precious");
        await File.WriteAllTextAsync(victim, "keep me");
        Directory.CreateDirectory(kit.Area);
        Directory.CreateSymbolicLink($"{kit.Area}/{kit.VmName}", outside);

        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var refused = (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: false))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);

        var clean = new Pool.CleanVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunPoolAsync(clean, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["all"] = "true" })).Fails(ErrorClasses.VirtctlError);
        var delete = new Pool.DeleteVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunPoolAsync(delete, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "precious" }))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Equal("keep me", await File.ReadAllTextAsync(victim));

        // exportVM: a path outside the allowed roots
        var export = new Vm.ExportVMHandler(kit.Libvirt, kit.QemuImg);
        var escape = (await kit.RunVmAsync(export, new JsonObject { ["path"] = outside })).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("allowed directories", escape.Message, StringComparison.Ordinal);
    }

    [LibvirtFact]
    public async Task An_interrupted_backup_leaves_no_manifest_is_scanned_as_incomplete_and_the_next_attempt_replaces_it()
    {
        using var kit = await BackupTestKit.CreateAsync();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x51, 0, 1 * MiB);
        kit.Crash = new ThrowingCrash(CrashPoints.BackupBeforeManifest);
        var crashing = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        await Assert.ThrowsAsync<CrashedOnPurpose>(() => kit.RunVmAsync(crashing, kit.Backup("v1", full: true, all: true)));
        Assert.True(File.Exists($"{kit.VmVersionDir("v1")}/vda.qcow2"));
        Assert.False(File.Exists($"{kit.VmVersionDir("v1")}/{BackupManifest.FileName}"));

        var scan = new Pool.ScanVMBackupHandler(kit.Libvirt, kit.QemuImg, NoCrashInjector.Instance);
        var scanned = (await kit.RunPoolAsync(scan, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool })).Ok();
        Assert.Contains("vm v1 (incomplete", scanned.Message, StringComparison.Ordinal);
        var restore = new Vm.RestoreVMHandler(kit.Libvirt, kit.QemuImg, NoCrashInjector.Instance);
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "v1" })).Fails(ErrorClasses.VirtctlError);

        // the request again (resumed attempt): the partial version is replaced and completed
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x52, 0, 1 * MiB);
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, NoCrashInjector.Instance);
        (await kit.RunVmAsync(backup, kit.Backup("v1", full: true, all: true), attempt: 2)).Ok();
        var manifest = await kit.ManifestAsync(kit.VmVersionDir("v1"));
        foreach (var disk in manifest.Disks)
        {
            Assert.Equal(await BackupFiles.Sha256Async($"{kit.VmVersionDir("v1")}/{disk.File}"), disk.Sha256);
        }

        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x66, 0, 1 * MiB);
        (await kit.RunVmAsync(restore, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "v1" })).Ok();
        await BackupTestKit.AssertReadsAsync(kit.SystemDisk, 0x52, 0, 1 * MiB);
    }

    [LibvirtFact]
    public async Task Scan_delete_and_clean_report_and_remove_versions_but_never_a_parent_that_a_kept_version_needs()
    {
        using var kit = await BackupTestKit.CreateAsync();
        var backup = new Vm.BackupVMHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var backupDisk = new KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk.BackupDiskHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunVmAsync(backup, kit.Backup("a1", full: true, all: false))).Ok();
        (await kit.RunVmAsync(backup, kit.Backup("a2", full: false, all: false))).Ok();
        (await kit.RunVmAsync(backup, kit.Backup("a3", full: true, all: false))).Ok();
        var volumeName = Path.GetFileName(kit.DataDisk);
        (await StorageTestKit.RunAsync(backupDisk, volumeName, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "d1", ["full"] = "true" },
            volumeView: new JsonObject { ["pool"] = kit.DiskPool })).Ok();
        Directory.CreateDirectory(kit.VmVersionDir("partial"));

        var scan = new Pool.ScanVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var scanned = (await kit.RunPoolAsync(scan, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool })).Ok();
        Assert.Contains("Found 5 backup version(s)", scanned.Message, StringComparison.Ordinal);
        Assert.Contains("4 complete", scanned.Message, StringComparison.Ordinal);
        Assert.Contains("vm a2 (complete, incremental on a1", scanned.Message, StringComparison.Ordinal);
        Assert.Contains($"disk {volumeName} d1 (complete, full", scanned.Message, StringComparison.Ordinal);

        var deleteVm = new Vm.DeleteVMBackupHandler(kit.Libvirt);
        var refused = (await kit.RunVmAsync(deleteVm, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "a1" })).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("a2", refused.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(kit.VmVersionDir("a1")));
        (await kit.RunVmAsync(deleteVm, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "a2" })).Ok();
        Assert.False(Directory.Exists(kit.VmVersionDir("a2")));
        (await kit.RunVmAsync(deleteVm, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "a2" })).Fails(ErrorClasses.VirtctlError);
        (await kit.RunVmAsync(deleteVm, new JsonObject { ["pool"] = kit.BackupPool, ["version"] = "a2" }, attempt: 2)).Ok();

        var clean = new Pool.CleanVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        var cleaned = (await kit.RunPoolAsync(clean, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "a1" })).Ok();
        Assert.Contains("removed 2: vm a1, vm partial", cleaned.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(kit.VmVersionDir("a3")));

        var deleteDisk = new Pool.DeleteVMDiskBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunPoolAsync(deleteDisk, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["vol"] = volumeName, ["version"] = "d1" })).Ok();
        Assert.False(Directory.Exists($"{kit.Area}/{kit.VmName}/disks"));

        var deletePool = new Pool.DeleteVMBackupHandler(kit.Libvirt, kit.QemuImg, kit.Crash);
        (await kit.RunPoolAsync(deletePool, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["version"] = "a3" })).Ok();
        Assert.False(Directory.Exists(kit.VmVersionDir("a3")));

        (await kit.RunVmAsync(backup, kit.Backup("a4", full: true, all: false))).Ok();
        (await kit.RunPoolAsync(clean, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool, ["all"] = "true" })).Ok();
        Assert.False(Directory.Exists($"{kit.Area}/{kit.VmName}"));
        Assert.True(Directory.Exists(kit.Area));
        (await kit.RunPoolAsync(clean, new JsonObject { ["domain"] = kit.VmName, ["pool"] = kit.BackupPool })).Fails(ErrorClasses.VirtctlError);
    }

    [LibvirtFact]
    public async Task ExportVM_writes_the_definition_flattened_disks_and_a_manifest_inside_the_allowed_roots()
    {
        using var kit = await BackupTestKit.CreateAsync();
        await BackupTestKit.WriteAsync(kit.SystemDisk, 0x61, 0, 1 * MiB);
        var dir = kit.Storage.Cleanup.PathToDelete($"/mnt/localfs/{LabEnvironment.UniqueName("export")}");
        var export = new Vm.ExportVMHandler(kit.Libvirt, kit.QemuImg);
        (await kit.RunVmAsync(export, new JsonObject { ["path"] = dir })).Ok();
        Assert.Contains($"<name>{kit.VmName}</name>", await File.ReadAllTextAsync($"{dir}/{kit.VmName}.xml"), StringComparison.Ordinal);
        var manifest = BackupManifestJson.Deserialize(await File.ReadAllTextAsync($"{dir}/{kit.VmName}.manifest.json"), dir);
        Assert.Equal([$"{kit.VmName}-vda.qcow2", $"{kit.VmName}-vdb.qcow2"], manifest.Disks.Select(d => d.File));
        Assert.Equal(await BackupFiles.Sha256Async($"{dir}/{kit.VmName}-vda.qcow2"), manifest.Disks[0].Sha256);
        await BackupTestKit.AssertReadsAsync($"{dir}/{kit.VmName}-vda.qcow2", 0x61, 0, 1 * MiB);
        Assert.Empty(Directory.GetFiles(dir, ".*"));
    }

    private sealed class CrashedOnPurpose : Exception
    {
        public CrashedOnPurpose(string point) : base($"crashed at {point}")
        {
        }
    }

    /// <summary>Stops the handler at one point by throwing, leaving what it wrote so far (what a killed agent leaves).</summary>
    private sealed class ThrowingCrash(string point) : ICrashInjector
    {
        public void At(string p)
        {
            if (p == point)
            {
                throw new CrashedOnPurpose(p);
            }
        }
    }
}
