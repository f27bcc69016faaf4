using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;
using KubeStack.NodeAgent.Runtime;
using static KubeStack.HostIntegration.Tests.Storage.VmSnapshotKit;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// VirtualMachineSnapshot operations on a real libvirtd: chains of three external snapshots with known bytes written
/// at every level, checked after every revert, merge, copy and delete — offline (VM defined, stopped) and live (a
/// running lab VM; writes go through its disk device), plus internal snapshots.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VmSnapshotTests
{
    [LabFact]
    public async Task External_snapshots_of_a_stopped_vm_keep_every_chain_readable_through_copy_revert_merge_and_delete()
    {
        using var kit = await DefineAsync("vmsnap", start: false);
        string F(string n) => kit.File(n);
        await StorageTestKit.WriteAsync(kit.Base, 0x01, 0, K64);
        (await kit.SnapshotAsync("s1")).Ok();
        await StorageTestKit.WriteAsync(F("s1.qcow2"), 0x02, K64, K64);
        (await kit.SnapshotAsync("s2")).Ok();
        await StorageTestKit.WriteAsync(F("s2.qcow2"), 0x03, 2 * K64, K64);
        var third = (await kit.SnapshotAsync("s3")).Ok();
        await StorageTestKit.WriteAsync(F("s3.qcow2"), 0x04, 0, K64);

        Assert.Equal([F("s3.qcow2"), F("s2.qcow2"), F("s1.qcow2"), kit.Base], await FileChainAsync(F("s3.qcow2")));
        Assert.Equal(F("s3.qcow2"), kit.XmlChain(live: false)[0]);
        Assert.Equal("s3", third.View!["name"]!["text"]!.GetValue<string>());
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);

        // copy: the state at s2, standalone
        (await kit.RunAsync(kit.Copy, "s2")).Ok();
        Assert.Null((await StorageTestKit.QemuImg.InfoAsync(F("s2.qcow2.copy"))).BackingFilename);
        await AssertBytesAsync(F("s2.qcow2.copy"), 0x01, 0x02, 0x00);
        (await kit.RunAsync(kit.Copy, "s2")).Fails(ErrorClasses.LibvirtError);
        (await kit.RunAsync(kit.Copy, "s2", attempt: 2)).Ok();

        // revert to s2: s2.qcow2 holds s3's state, so a new overlay s2.qcow2.1 on s1.qcow2 becomes the active layer
        (await kit.RunAsync(kit.Revert, "s2")).Ok();
        Assert.Equal([F("s2.qcow2.1"), F("s1.qcow2"), kit.Base], await FileChainAsync(F("s2.qcow2.1")));
        Assert.Equal(F("s2.qcow2.1"), kit.XmlChain(live: false)[0]);
        await AssertBytesAsync(F("s2.qcow2.1"), 0x01, 0x02, 0x00);
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);
        Assert.Equal(DomainState.Shutoff, kit.State());
        await StorageTestKit.WriteAsync(F("s2.qcow2.1"), 0x05, 3 * K64, K64);

        // merge s1 (root → s1 → current): s1's data is pulled into the active layer, which backs onto the base
        (await kit.RunAsync(kit.Merge, "s1")).Ok();
        Assert.Equal([F("s2.qcow2.1"), kit.Base], await FileChainAsync(F("s2.qcow2.1")));
        await AssertBytesAsync(F("s2.qcow2.1"), 0x01, 0x02, 0x00, 0x05);
        Assert.Equal(["s3"], kit.SnapshotNames());
        Assert.True(File.Exists(F("s1.qcow2")), "s1.qcow2 still holds s3's state (under s2.qcow2) and must be kept");
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);

        // delete s3 (a branch the revert left behind): metadata goes, its overlay goes, the current chain is untouched
        (await kit.RunAsync(kit.Delete, "s3")).Ok();
        Assert.Empty(kit.SnapshotNames());
        Assert.False(File.Exists(F("s3.qcow2")));
        await AssertBytesAsync(F("s2.qcow2.1"), 0x01, 0x02, 0x00, 0x05);

        // a snapshot on the current chain is deleted by libvirt's commit: the VM is back on its file with all data
        (await kit.SnapshotAsync("s4")).Ok();
        await StorageTestKit.WriteAsync(F("s4.qcow2"), 0x06, 4 * K64, K64);
        (await kit.RunAsync(kit.Delete, "s4")).Ok();
        Assert.False(File.Exists(F("s4.qcow2")));
        Assert.Equal(F("s2.qcow2.1"), kit.XmlChain(live: false)[0]);
        await AssertBytesAsync(F("s2.qcow2.1"), 0x01, 0x02, 0x00, 0x05, 0x06);
        Assert.True((await StorageTestKit.QemuImg.CheckAsync(F("s2.qcow2.1"))).IsClean);

        (await kit.RunAsync(kit.Delete, "s4")).Fails(ErrorClasses.LibvirtError);
        (await kit.RunAsync(kit.Delete, "s4", attempt: 2)).Ok();
    }

    [LabFact]
    public async Task Live_snapshots_of_a_running_vm_are_taken_merged_deleted_and_reverted_with_the_live_xml_following_each_step()
    {
        using var kit = await DefineAsync("vmsnap-live", start: true);
        string F(string n) => kit.File(n);
        await kit.WriteLiveAsync(0x01, 0);

        var first = (await kit.SnapshotAsync("s1")).Ok();
        Assert.Contains("live and atomically (no guest agent: not quiesced)", first.Message, StringComparison.Ordinal);
        Assert.Equal([F("s1.qcow2"), kit.Base], kit.XmlChain());
        await kit.WriteLiveAsync(0x02, K64);
        (await kit.SnapshotAsync("s2")).Ok();
        await kit.WriteLiveAsync(0x03, 2 * K64);
        (await kit.SnapshotAsync("s3")).Ok();
        Assert.Equal([F("s3.qcow2"), F("s2.qcow2"), F("s1.qcow2"), kit.Base], kit.XmlChain());
        await kit.WriteLiveAsync(0x04, 0);
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);
        await AssertBytesAsync(F("s2.qcow2"), 0x01, 0x02, 0x03);
        Assert.Equal(DomainState.Running, kit.State());

        // copy while running: the state at s2
        (await kit.RunAsync(kit.Copy, "s2")).Ok();
        await AssertBytesAsync(F("s2.qcow2.copy"), 0x01, 0x02, 0x00);

        // merge s2 live (block pull onto s1.qcow2): s2.qcow2 goes, s2 and s3 are merged
        (await kit.RunAsync(kit.Merge, "s2")).Ok();
        Assert.Equal([F("s3.qcow2"), F("s1.qcow2"), kit.Base], kit.XmlChain());
        Assert.False(File.Exists(F("s2.qcow2")));
        Assert.Equal(["s1"], kit.SnapshotNames());
        await kit.FlushLiveAsync();
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);

        // delete s1 live (libvirt's block commit of s1.qcow2 into the base)
        (await kit.RunAsync(kit.Delete, "s1")).Ok();
        Assert.Equal([F("s3.qcow2"), kit.Base], kit.XmlChain());
        Assert.False(File.Exists(F("s1.qcow2")));
        await kit.FlushLiveAsync();
        await AssertBytesAsync(kit.Base, 0x01, 0x02, 0x00);
        await AssertBytesAsync(F("s3.qcow2"), 0x04, 0x02, 0x03);

        // revert a running VM to a live snapshot and start it again
        (await kit.SnapshotAsync("s4")).Ok();
        await kit.WriteLiveAsync(0x05, 3 * K64);
        await AssertBytesAsync(F("s4.qcow2"), 0x04, 0x02, 0x03, 0x05);
        var reverted = (await kit.RunAsync(kit.Revert, "s4", new JsonObject { ["running"] = true })).Ok();
        Assert.Contains("powered off", reverted.Message, StringComparison.Ordinal);
        Assert.Equal(DomainState.Running, kit.State());
        Assert.Equal([F("s4.qcow2"), F("s3.qcow2"), kit.Base], kit.XmlChain());
        await AssertBytesAsync(F("s4.qcow2"), 0x04, 0x02, 0x03, 0x00);
        Assert.True((await StorageTestKit.QemuImg.CheckAsync(F("s3.qcow2"))).IsClean);
    }

    [LabFact]
    public async Task Internal_snapshots_are_reverted_copied_and_deleted_inside_the_qcow2_file()
    {
        using var kit = await DefineAsync("vmsnap-int", start: false);
        await StorageTestKit.WriteAsync(kit.Base, 0x01, 0, K64);
        var created = (await kit.RunAsync(kit.Create, "i1", new JsonObject { ["diskspec"] = "vda,snapshot=internal" })).Ok();
        Assert.Contains("internal", created.Message, StringComparison.Ordinal);
        await StorageTestKit.WriteAsync(kit.Base, 0x02, 0, K64);
        Assert.Contains((await StorageTestKit.QemuImg.SnapshotListAsync(kit.Base)), s => s.Name == "i1");

        (await kit.RunAsync(kit.Copy, "i1")).Ok();
        await AssertBytesAsync($"{kit.Base}.i1.copy", 0x01);
        (await kit.RunAsync(kit.Revert, "i1")).Ok();
        await AssertBytesAsync(kit.Base, 0x01);
        (await kit.RunAsync(kit.Merge, "i1")).Fails(ErrorClasses.VirtctlError);
        (await kit.RunAsync(kit.Delete, "i1")).Ok();
        Assert.Empty(await StorageTestKit.QemuImg.SnapshotListAsync(kit.Base));
        Assert.Empty(kit.SnapshotNames());
    }

    [LabFact]
    public async Task Requests_that_cannot_be_served_are_refused_naming_the_rule()
    {
        using var kit = await DefineAsync("vmsnap-bad", start: false);
        var outside = await kit.RunAsync(kit.Create, "s1", new JsonObject { ["diskspec"] = "vda,file=/etc/kst-snap.qcow2" });
        var noDisk = await kit.RunAsync(kit.Create, "s1", new JsonObject { ["diskspec"] = $"vdq,file={kit.File("q.qcow2")}" });
        var contradiction = await kit.RunAsync(kit.Create, "s1", new JsonObject { ["diskspec"] = "vda,snapshot=internal", ["isExternal"] = true });
        var noVm = await StorageTestKit.RunAsync(kit.Create, "s1", new JsonObject { ["domain"] = "kst-novm-0000", ["diskspec"] = "vda" });
        (await kit.SnapshotAsync("s1")).Ok();
        var again = await kit.SnapshotAsync("s1");
        var resumed = await kit.RunAsync(kit.Create, "s1", new JsonObject { ["diskspec"] = $"vda,file={kit.File("s1b.qcow2")}" }, attempt: 2);
        var missing = await kit.RunAsync(kit.Revert, "nosnap");

        Assert.Contains("allowed directories", outside.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("no writable disk vdq", noDisk.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("isExternal is true", contradiction.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("is not defined on node", noVm.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Contains("already has a snapshot s1", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Contains("has no snapshot nosnap", missing.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/etc/kst-snap.qcow2"));
        Assert.Equal(["s1"], kit.SnapshotNames());
    }

    [LabFact]
    public async Task The_reader_reports_the_snapshot_from_its_view_and_kubectl_delete_merges_it_away()
    {
        using var kit = await DefineAsync("vmsnap-obj", start: false);
        await StorageTestKit.WriteAsync(kit.Base, 0x01, 0, K64);
        var created = (await kit.SnapshotAsync("s1")).Ok();
        await StorageTestKit.WriteAsync(kit.File("s1.qcow2"), 0x02, K64, K64);
        var obj = new KubeStackResource
        {
            Kind = Kinds.VirtualMachineSnapshot,
            Metadata = new k8s.Models.V1ObjectMeta { Name = "s1", NamespaceProperty = "default" },
            Spec = new KubeStackSpec { DomainSnapshot = (JsonObject)created.View!.DeepClone() },
        };
        var reader = new VmSnapshotStateReader(kit.Libvirt);
        var cleanup = new VmSnapshotCleanup(kit.Libvirt, StorageTestKit.QemuImg);
        CleanupContext Ctx() => new() { Object = obj, NodeName = StorageTestKit.Node, Logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance };

        var seen = await reader.ReadAsync(obj, StorageTestKit.Node, CancellationToken.None);
        Assert.True(JsonNode.DeepEquals(created.View, seen!.View), "the reader's view differs from createSnapshot's");
        (await cleanup.CleanupAsync(Ctx(), CancellationToken.None)).Ok();
        Assert.Empty(kit.SnapshotNames());
        Assert.False(File.Exists(kit.File("s1.qcow2")));
        Assert.Equal([kit.Base], kit.XmlChain(live: false));
        await AssertBytesAsync(kit.Base, 0x01, 0x02);
        Assert.Null(await reader.ReadAsync(obj, StorageTestKit.Node, CancellationToken.None));
        Assert.Contains("nothing left", (await cleanup.CleanupAsync(Ctx(), CancellationToken.None)).Ok().Message, StringComparison.Ordinal);
    }

    [LabFact]
    public async Task A_running_vm_with_a_connected_guest_agent_is_snapshotted_quiesced_and_merged_back_live()
    {
        using var kit = await DefineAsync("vmsnap-qga", start: true, guestAgent: true);
        await kit.WriteLiveAsync(0x01, 0);

        var created = (await kit.SnapshotAsync("q1")).Ok();
        Assert.Contains("quiesced through the guest agent", created.Message, StringComparison.Ordinal);
        Assert.Equal([kit.File("q1.qcow2"), kit.Base], kit.XmlChain());
        await kit.WriteLiveAsync(0x02, K64);

        // deleting the only snapshot commits the active overlay back into the base (active block commit + pivot)
        (await kit.RunAsync(kit.Delete, "q1")).Ok();
        Assert.Equal([kit.Base], kit.XmlChain());
        Assert.False(File.Exists(kit.File("q1.qcow2")));
        await kit.FlushLiveAsync();
        await AssertBytesAsync(kit.Base, 0x01, 0x02);
        Assert.Equal(DomainState.Running, kit.State());
    }

    [LabFact]
    public async Task A_merge_interrupted_after_the_pull_is_finished_by_the_resumed_attempt()
    {
        using var kit = await DefineAsync("vmsnap-mres", start: false);
        await StorageTestKit.WriteAsync(kit.Base, 0x01, 0, K64);
        (await kit.SnapshotAsync("s1")).Ok();
        await StorageTestKit.WriteAsync(kit.File("s1.qcow2"), 0x02, K64, K64);
        (await kit.SnapshotAsync("s2")).Ok();
        await StorageTestKit.WriteAsync(kit.File("s2.qcow2"), 0x03, 2 * K64, K64);

        // what a crashed mergeSnapshot(s1) leaves: the pull is done (s2.qcow2 backs onto the base), metadata and s1.qcow2 remain
        await StorageTestKit.QemuImg.RebaseAsync(kit.File("s2.qcow2"), kit.Base, "qcow2", format: "qcow2");
        var first = await kit.RunAsync(kit.Merge, "s1");
        var resumed = await kit.RunAsync(kit.Merge, "s1", attempt: 2);

        Assert.Contains("not in the current chain", first.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        resumed.Ok();
        Assert.Empty(kit.SnapshotNames());
        Assert.False(File.Exists(kit.File("s1.qcow2")));
        Assert.Equal([kit.File("s2.qcow2"), kit.Base], await FileChainAsync(kit.File("s2.qcow2")));
        await AssertBytesAsync(kit.File("s2.qcow2"), 0x01, 0x02, 0x03);
    }
}
