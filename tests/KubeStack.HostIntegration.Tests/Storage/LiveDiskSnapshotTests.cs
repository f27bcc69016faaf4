using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;
using KubeStack.NodeAgent.Libvirt;
using static KubeStack.HostIntegration.Tests.Storage.VmSnapshotKit;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// External disk snapshots of a disk a running lab VM writes to: taken live through libvirt with the offline layout
/// (the disk's path stays the active layer), a chain of three with bytes written through the VM between snapshots,
/// merged live by deleting, and checked after every step in the files and in the domain's live XML.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LiveDiskSnapshotTests
{
    [LabFact]
    public async Task Snapshots_of_a_running_vms_disk_are_taken_and_merged_live_and_the_live_xml_follows_the_chain()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var vol = LabEnvironment.UniqueName("disk");
        var disk = await kit.NewDiskAsync(pool, dir, vol, size: 64L * 1024 * 1024);
        string Snap(string s) => Path.Combine(dir, $"{vol}.{s}");
        await StorageTestKit.WriteAsync(disk, 0x01, 0, K64);
        var vm = kit.Cleanup.Domain(LabEnvironment.UniqueName("vmsnap-disk"));
        var serial = LabGuest.NewWorkDir(kit.Cleanup, vm);
        using (var domain = kit.Connection.DefineXml(LabGuest.DomainXml(vm, Path.Combine(serial, "serial.log"), disk)))
        {
            domain.Create();
        }

        JsonObject Req(bool withDomain = true)
        {
            var r = new JsonObject { ["type"] = "localfs", ["pool"] = pool, ["format"] = "qcow2", ["vol"] = vol };
            if (withDomain) r["domain"] = vm;
            return r;
        }

        IReadOnlyList<string> LiveChain()
        {
            using var domain = kit.Connection.LookupDomainByName(vm);
            return SnapshotXml.Chain(domain.GetXmlDesc(), "vda");
        }

        var create = new CreateDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var revert = new RevertDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var delete = new DeleteDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);

        var noDomain = await StorageTestKit.RunAsync(create, "snap1", Req(withDomain: false));
        Assert.Contains("Write lock", noDomain.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Snap("snap1")));

        var first = (await StorageTestKit.RunAsync(create, "snap1", Req())).Ok();
        Assert.Contains("live", first.Message, StringComparison.Ordinal);
        Assert.Equal([disk, Snap("snap1")], LiveChain());
        await WriteLiveAsync(vm, 0x02, K64);
        (await StorageTestKit.RunAsync(create, "snap2", Req())).Ok();
        Assert.Equal([disk, Snap("snap2"), Snap("snap1")], LiveChain());
        await WriteLiveAsync(vm, 0x03, 2 * K64);
        var third = (await StorageTestKit.RunAsync(create, "snap3", Req())).Ok();
        Assert.Equal([disk, Snap("snap3"), Snap("snap2"), Snap("snap1")], LiveChain());
        Assert.Equal(4, ((JsonArray)third.View!["backing_chain"]!).Count);
        await WriteLiveAsync(vm, 0x04, 0);

        Assert.Equal([disk, Snap("snap3"), Snap("snap2"), Snap("snap1")], await FileChainAsync(disk));
        await AssertBytesAsync(disk, 0x04, 0x02, 0x03);
        await AssertBytesAsync(Snap("snap3"), 0x01, 0x02, 0x03);
        await AssertBytesAsync(Snap("snap2"), 0x01, 0x02, 0x00);
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".part", StringComparison.Ordinal));

        // revert needs the VM shut down (catalog); deleting an inner layer of the running chain is refused
        Assert.Contains("shut down", (await StorageTestKit.RunAsync(revert, "snap2", Req())).Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("inner layer", (await StorageTestKit.RunAsync(delete, "snap2", Req())).Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Equal([disk, Snap("snap3"), Snap("snap2"), Snap("snap1")], LiveChain());

        // delete snap3 live: block pull of snap3 into the active layer, which then backs onto snap2
        (await StorageTestKit.RunAsync(delete, "snap3", Req())).Ok();
        Assert.False(File.Exists(Snap("snap3")));
        Assert.Equal([disk, Snap("snap2"), Snap("snap1")], LiveChain());
        await MonitorQemuIoAsync(vm, "flush");
        Assert.Equal([disk, Snap("snap2"), Snap("snap1")], await FileChainAsync(disk));
        await AssertBytesAsync(disk, 0x04, 0x02, 0x03);

        // stopped: the rest of the chain is merged and reverted offline, bytes intact
        using (var domain = kit.Connection.LookupDomainByName(vm))
        {
            domain.Destroy();
        }

        (await StorageTestKit.RunAsync(delete, "snap1", Req())).Ok();
        Assert.Equal([disk, Snap("snap2")], await FileChainAsync(disk));
        await AssertBytesAsync(disk, 0x04, 0x02, 0x03);
        (await StorageTestKit.RunAsync(revert, "snap2", Req())).Ok();
        await AssertBytesAsync(disk, 0x01, 0x02, 0x00);
        Assert.True((await StorageTestKit.QemuImg.CheckAsync(disk)).IsClean);
    }

    [LabFact]
    public async Task A_live_snapshot_interrupted_after_the_disk_was_frozen_is_finished_by_the_resumed_attempt()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var vol = LabEnvironment.UniqueName("disk");
        var disk = await kit.NewDiskAsync(pool, dir, vol, size: 64L * 1024 * 1024);
        var snap = Path.Combine(dir, $"{vol}.snapr");
        var temporary = Path.Combine(dir, $".{vol}.snapr.part");
        await StorageTestKit.WriteAsync(disk, 0x01, 0, K64);
        var vm = kit.Cleanup.Domain(LabEnvironment.UniqueName("vmsnap-resume"));
        var serial = LabGuest.NewWorkDir(kit.Cleanup, vm);
        using var domain = kit.Connection.DefineXml(LabGuest.DomainXml(vm, Path.Combine(serial, "serial.log"), disk));
        domain.Create();

        // what a crashed attempt leaves: the VM on the temporary overlay, the frozen disk file renamed, no overlay at the disk's path yet
        domain.SnapshotCreateXml(SnapshotXml.BuildCreate("crashed", SnapshotMode.External,
                [new KubeStack.Contracts.Formats.DiskSnapshotSpec("vda", "external", temporary, "qcow2")]),
            DomainSnapshotCreateFlags.DiskOnly | DomainSnapshotCreateFlags.Atomic | DomainSnapshotCreateFlags.NoMetadata).Dispose();
        await WriteLiveAsync(vm, 0x02, K64);
        File.Move(disk, snap);

        var create = new CreateDiskExternalSnapshotHandler(kit.Libvirt, StorageTestKit.QemuImg);
        var parameters = new JsonObject { ["type"] = "localfs", ["pool"] = pool, ["format"] = "qcow2", ["vol"] = vol, ["domain"] = vm };
        var resumed = (await StorageTestKit.RunAsync(create, "snapr", parameters, attempt: 2)).Ok();

        Assert.Contains("interrupted", resumed.Message, StringComparison.Ordinal);
        Assert.Equal([disk, snap], SnapshotXml.Chain(domain.GetXmlDesc(), "vda"));
        Assert.False(File.Exists(temporary));
        await MonitorQemuIoAsync(vm, "flush");
        await AssertBytesAsync(disk, 0x01, 0x02);
        await AssertBytesAsync(snap, 0x01, 0x00);
    }
}
