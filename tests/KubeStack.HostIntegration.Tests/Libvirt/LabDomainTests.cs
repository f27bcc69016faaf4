using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Libvirt;

/// <summary>A real TCG guest on the lab's libvirtd. Boots are slow (~10 s to the first serial line), so the whole
/// suite boots at most two guests, both here.</summary>
[Collection(LabCollection.Name)]
public sealed class LabDomainTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(30);

    [LabFact]
    public async Task Guest_boots_takes_live_disk_vcpu_and_memory_changes_suspends_resumes_stops_by_acpi_and_is_destroyed()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        using var sub = conn.SubscribeLifecycleEvents();
        var name = cleanup.Domain(LabEnvironment.UniqueName("vm"));
        bool Mine(DomainLifecycleEvent e) => e.Name == name;
        var work = LabGuest.NewWorkDir(cleanup, name);
        var serial = Path.Combine(work, "serial.log");

        // disk through the storage API, in a pool of its own
        var poolName = cleanup.Pool(name + "-pool");
        using var pool = conn.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, Path.Combine(work, "pool")));
        pool.Create(StoragePoolCreateFlags.WithBuild);
        using var vol = pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml("vda.qcow2", 32L << 20));

        using var dom = conn.DefineXml(LabGuest.DomainXml(name, serial, vol.GetPath()));
        await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Defined, EventTimeout, "Defined");
        Assert.Equal(DomainState.Shutoff, dom.GetState().State);
        Assert.Contains("type='qemu'", dom.GetXmlDesc(DomainXmlFlags.Inactive), StringComparison.Ordinal);

        dom.Create();
        var started = await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Started, EventTimeout, "Started");
        Assert.Equal("Booted", started.DetailName);
        Assert.Equal(DomainState.Running, dom.GetState().State);

        var booted = await Await.LineAsync(serial, "LAB-GUEST-BOOTED", BootTimeout);
        Assert.Contains("source=disk", booted, StringComparison.Ordinal);
        var tick = await Await.LineAsync(serial, "LAB-TICK", BootTimeout);
        Assert.Contains("disks=vda", tick, StringComparison.Ordinal);   // the pool volume is the guest's vda

        // live changes the guest itself observes (its LAB-TICK line every 3 s): disk hot-plug and unplug, vCPU
        // hot-plug (never unplug under TCG), balloon
        using var vol2 = pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml("vdb.qcow2", 16L << 20));
        var mark = Await.LineCount(serial);
        dom.AttachDeviceFlags(LabGuest.DiskDeviceXml(vol2.GetPath(), "vdb"), DomainModificationFlags.Live);
        await Await.LineAsync(serial, "disks=vda,vdb ", BootTimeout, mark);
        mark = Await.LineCount(serial);
        dom.DetachDeviceFlags(LabGuest.DiskDeviceXml(vol2.GetPath(), "vdb"), DomainModificationFlags.Live);
        await Await.LineAsync(serial, "disks=vda ", BootTimeout, mark);
        mark = Await.LineCount(serial);
        dom.SetVcpusFlags(2, DomainVcpuFlags.Live);
        await Await.LineAsync(serial, "cpus_online=0-1 ", BootTimeout, mark);
        Assert.Equal(2, dom.GetInfo().VirtualCpus);
        dom.SetMemoryFlags(160 * 1024, DomainMemoryFlags.Live);
        await Await.UntilAsync(() => dom.GetInfo().MemoryKiB == 160 * 1024, TimeSpan.FromSeconds(10), "balloon to 160 MiB");

        var stats = Assert.Single(conn.GetAllDomainStats(DomainStatsTypes.State | DomainStatsTypes.Balloon | DomainStatsTypes.Block,
            ListAllDomainsFlags.Active), s => s.Name == name);
        Assert.Equal((int)DomainState.Running, stats.Values["state.state"]);
        Assert.Equal(vol.GetPath(), stats.Values["block.0.path"]);
        Assert.Equal(256UL * 1024, stats.Values["balloon.maximum"]);

        // the running image is locked by QEMU: reads need -U
        Assert.Equal("qcow2", (await QemuImg.Default.InfoAsync(vol.GetPath(), forceShare: true)).Format);

        dom.Suspend();
        await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Suspended, EventTimeout, "Suspended");
        Assert.Equal(DomainState.Paused, dom.GetState().State);
        dom.Suspend(); // the QEMU driver accepts suspending a paused domain as a no-op: handlers must probe the state
        Assert.Equal(DomainState.Paused, dom.GetState().State);
        dom.Resume();
        await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Resumed, EventTimeout, "Resumed");
        Assert.Equal(DomainState.Running, dom.GetState().State);
        Assert.True(Assert.Throws<LibvirtException>(() => dom.Create()).IsOperationInvalid);

        // ACPI power button: the guest's acpid runs poweroff -f
        dom.Shutdown();
        var stopped = await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Stopped, EventTimeout, "Stopped after ACPI shutdown");
        Assert.Equal("Shutdown", stopped.DetailName);
        Assert.Equal(new DomainStateInfo(DomainState.Shutoff, 1 /* VIR_DOMAIN_SHUTOFF_SHUTDOWN */), dom.GetState());
        Assert.True(Assert.Throws<LibvirtException>(() => dom.Destroy()).IsOperationInvalid);
        Assert.True(Assert.Throws<LibvirtException>(() => dom.Shutdown()).IsOperationInvalid);

        // start again and pull the plug at once (no need to wait for this boot)
        dom.Create();
        await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Started, EventTimeout, "Started (second)");
        dom.Destroy();
        var destroyed = await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Stopped, EventTimeout, "Stopped after destroy");
        Assert.Equal("Destroyed", destroyed.DetailName);
        Assert.Equal(new DomainStateInfo(DomainState.Shutoff, 2 /* VIR_DOMAIN_SHUTOFF_DESTROYED */), dom.GetState());

        dom.Undefine(DomainUndefineFlags.SnapshotsMetadata | DomainUndefineFlags.CheckpointsMetadata | DomainUndefineFlags.ManagedSave);
        await Await.EventAsync(sub, e => Mine(e) && e.Event == DomainLifecycleEventType.Undefined, EventTimeout, "Undefined");
        Assert.True(Assert.Throws<LibvirtException>(() => conn.LookupDomainByName(name)).IsNoDomain);
    }

    [LabFact]
    public async Task Transient_guest_created_from_the_lab_iso_boots_from_the_cdrom_and_vanishes_when_destroyed()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        using var sub = conn.SubscribeLifecycleEvents();
        var name = cleanup.Domain(LabEnvironment.UniqueName("iso"));
        var serial = Path.Combine(LabGuest.NewWorkDir(cleanup, name), "serial.log");

        using var dom = conn.CreateXml(LabGuest.IsoDomainXml(name, serial));
        Assert.False(dom.IsPersistent());
        Assert.True(dom.IsActive());
        await Await.EventAsync(sub, e => e.Name == name && e.Event == DomainLifecycleEventType.Started, EventTimeout, "Started");
        Assert.Contains("source=iso", await Await.LineAsync(serial, "LAB-GUEST-BOOTED", BootTimeout), StringComparison.Ordinal);

        dom.Destroy(DomainDestroyFlags.Graceful);
        await Await.EventAsync(sub, e => e.Name == name && e.Event == DomainLifecycleEventType.Stopped, EventTimeout, "Stopped");
        Assert.Null(conn.TryLookupDomainByName(name)); // transient: gone once stopped
    }

    [LabFact]
    public async Task Connection_closed_by_the_daemon_reconnects_and_events_flow_again()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri, new LibvirtConnectionOptions
        {
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
        });
        using var cleanup = new LibvirtCleanup(conn);
        using var sub = conn.SubscribeLifecycleEvents();
        var reconnected = new TaskCompletionSource<LibvirtReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.Reconnected += (_, e) => reconnected.TrySetResult(e);
        Assert.Equal(1, conn.Generation);
        var beforeName = cleanup.Domain(LabEnvironment.UniqueName("rc"));
        using var before = conn.DefineXml(LabGuest.DomainXml(beforeName, "/dev/null", diskPath: null));

        // the daemon drops this process's client connections (virt-admin client-disconnect), as a restart would
        var kicked = await DisconnectOwnClientsAsync();
        Assert.True(kicked > 0, "virt-admin found no client of this process on libvirtd");

        var e = await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, e.Generation);
        Assert.True(conn.IsConnected);

        // objects of the old connection fail with a connection error; looked up again they work
        Assert.True(Assert.Throws<LibvirtException>(() => before.GetState()).IsConnectionFailure);
        using (var again = conn.LookupDomainByName(beforeName)) Assert.Equal(DomainState.Shutoff, again.GetState().State);

        var name = cleanup.Domain(LabEnvironment.UniqueName("rc"));
        using var dom = conn.DefineXml(LabGuest.DomainXml(name, "/dev/null", diskPath: null));
        await Await.EventAsync(sub, ev => ev.Name == name && ev.Event == DomainLifecycleEventType.Defined, TimeSpan.FromSeconds(10),
            "Defined after reconnect");
    }

    [LabFact]
    public async Task Changes_made_behind_our_back_with_virsh_arrive_as_lifecycle_events_within_two_seconds()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        using var sub = conn.SubscribeLifecycleEvents();
        var name = cleanup.Domain(LabEnvironment.UniqueName("oob"));
        var xml = cleanup.PathToDelete(Path.Combine(Path.GetTempPath(), name + ".xml"));
        await File.WriteAllTextAsync(xml, LabGuest.DomainXml(name, "/dev/null", diskPath: null));

        await HostToolRunner.Default.RunAsync("virsh", ["-c", LabEnvironment.SystemUri, "define", xml], CancellationToken.None);
        var defined = await Await.EventAsync(sub, e => e.Name == name && e.Event == DomainLifecycleEventType.Defined, TimeSpan.FromSeconds(2), "Defined (virsh)");
        using (var dom = conn.LookupDomainByName(name)) Assert.Equal(dom.Uuid, defined.Uuid);

        await HostToolRunner.Default.RunAsync("virsh", ["-c", LabEnvironment.SystemUri, "undefine", name], CancellationToken.None);
        await Await.EventAsync(sub, e => e.Name == name && e.Event == DomainLifecycleEventType.Undefined, TimeSpan.FromSeconds(2), "Undefined (virsh)");
    }

    private static async Task<int> DisconnectOwnClientsAsync()
    {
        var runner = HostToolRunner.Default;
        var list = await runner.RunAsync("virt-admin", ["srv-clients-list", "libvirtd"], CancellationToken.None);
        var kicked = 0;
        foreach (var line in list.Stdout.Split('\n').Skip(2))
        {
            var id = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (id is null || !id.All(char.IsAsciiDigit)) continue;
            var info = await runner.RunAsync("virt-admin", ["client-info", "libvirtd", id], CancellationToken.None, new HashSet<int> { 0, 1 });
            var pid = info.Stdout.Split('\n').Select(l => l.Split(':', 2)).FirstOrDefault(p => p.Length == 2 && p[0].Trim() == "unix_process_id");
            if (pid is null || pid[1].Trim() != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
            await runner.RunAsync("virt-admin", ["client-disconnect", "libvirtd", id], CancellationToken.None);
            kicked++;
        }
        return kicked;
    }
}
