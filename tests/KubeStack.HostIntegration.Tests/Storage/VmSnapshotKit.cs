using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// A lab VM for snapshot tests: a qcow2 disk in a per-test directory under /var/lib/libvirt/images (an allowed root),
/// the lab guest defined on it (started by the live tests), the five VirtualMachineSnapshot handlers, byte writes
/// offline (<c>qemu-io</c>) or through the running VM's disk device (QEMU's monitor <c>qemu-io</c>), and the domain's
/// disk chain as libvirt reports it. Disposing destroys and undefines the VM and removes the directory.
/// </summary>
internal sealed class VmSnapshotKit : IDisposable
{
    public const long K64 = 65536;

    private VmSnapshotKit(string name)
    {
        Name = name;
        Connection = LibvirtConnection.Open(LabEnvironment.SystemUri);
        Libvirt = new LibvirtHost(() => Connection);
        Cleanup = new LibvirtCleanup(Connection);
        Dir = Cleanup.PathToDelete(Path.Combine("/var/lib/libvirt/images", name));
        Directory.CreateDirectory(Dir);
        Base = Path.Combine(Dir, "base.qcow2");
        Create = new CreateSnapshotHandler(Libvirt);
        Revert = new RevertVirtualMachineHandler(Libvirt, StorageTestKit.QemuImg);
        Delete = new DeleteSnapshotHandler(Libvirt, StorageTestKit.QemuImg);
        Copy = new CopySnapshotHandler(Libvirt, StorageTestKit.QemuImg);
        Merge = new MergeSnapshotHandler(Libvirt, StorageTestKit.QemuImg);
    }

    public string Name { get; }
    public LibvirtConnection Connection { get; }
    public LibvirtHost Libvirt { get; }
    public LibvirtCleanup Cleanup { get; }
    public string Dir { get; }
    public string Base { get; }
    public CreateSnapshotHandler Create { get; }
    public RevertVirtualMachineHandler Revert { get; }
    public DeleteSnapshotHandler Delete { get; }
    public CopySnapshotHandler Copy { get; }
    public MergeSnapshotHandler Merge { get; }

    public string File(string name) => Path.Combine(Dir, name);

    /// <summary>A VM named kst-&lt;what&gt;-xxxx defined on a new 64 MiB qcow2 base disk; started when <paramref name="start"/>.</summary>
    /// <summary>With <paramref name="guestAgent"/> the domain gets the QEMU guest agent channel (the lab guest starts
    /// qemu-ga on it) and the call returns when libvirt reports the agent connected.</summary>
    public static async Task<VmSnapshotKit> DefineAsync(string what, bool start, bool guestAgent = false)
    {
        var kit = new VmSnapshotKit(LabEnvironment.UniqueName(what));
        await StorageTestKit.QemuImg.CreateAsync(kit.Base, "qcow2", 64L * 1024 * 1024);
        var serial = LabGuest.NewWorkDir(kit.Cleanup, kit.Name);
        var xml = XElement.Parse(LabGuest.DomainXml(kit.Cleanup.Domain(kit.Name), Path.Combine(serial, "serial.log"), kit.Base));
        if (guestAgent)
        {
            xml.Element("devices")!.Add(new XElement("channel", new XAttribute("type", "unix"),
                new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", "org.qemu.guest_agent.0"))));
        }

        using var domain = kit.Connection.DefineXml(xml.ToString());
        if (start)
        {
            domain.Create();
        }

        if (start && guestAgent)
        {
            await Await.UntilAsync(() => SnapshotXml.HasConnectedGuestAgent(domain.GetXmlDesc()), TimeSpan.FromMinutes(3), $"the guest agent of {kit.Name} connecting");
        }

        return kit;
    }

    public Task<HandlerResult> RunAsync(ILifecycleHandler handler, string snapshot, JsonObject? extra = null, int attempt = 1)
    {
        var parameters = new JsonObject { ["domain"] = Name };
        foreach (var (k, v) in extra ?? [])
        {
            parameters[k] = v?.DeepClone();
        }

        return StorageTestKit.RunAsync(handler, snapshot, parameters, attempt);
    }

    /// <summary>createSnapshot of vda into <c>&lt;dir&gt;/&lt;snapshot&gt;.qcow2</c> (external, disk-only).</summary>
    public Task<HandlerResult> SnapshotAsync(string snapshot) =>
        RunAsync(Create, snapshot, new JsonObject { ["diskspec"] = $"vda,snapshot=external,file={File(snapshot + ".qcow2")},driver=qcow2", ["isExternal"] = true });

    /// <summary>Writes <paramref name="pattern"/> through the running VM's vda (QEMU monitor <c>qemu-io</c>), then flushes.</summary>
    public Task WriteLiveAsync(byte pattern, long offset, long length = K64) => WriteLiveAsync(Name, pattern, offset, length);

    /// <summary>Makes QEMU write its cached image metadata of vda (after block jobs) so another process reads the files right.</summary>
    public Task FlushLiveAsync() => MonitorQemuIoAsync(Name, "flush");

    /// <summary>Writes <paramref name="pattern"/> through vda of the running VM <paramref name="domain"/>, then flushes.</summary>
    public static Task WriteLiveAsync(string domain, byte pattern, long offset, long length = K64) =>
        MonitorQemuIoAsync(domain, $"write -P 0x{pattern:x2} {offset} {length}", "flush");

    /// <summary>QEMU's monitor command <c>qemu-io</c> on vda's device of a running VM (test-only: it taints the domain).</summary>
    public static async Task MonitorQemuIoAsync(string domain, params string[] commands)
    {
        foreach (var command in commands)
        {
            var r = await HostToolRunner.Default.RunAsync("virsh",
                ["-c", LabEnvironment.SystemUri, "qemu-monitor-command", domain, "--hmp", $"qemu-io -d virtio-disk0/virtio-backend \"{command}\""], CancellationToken.None);
            Assert.DoesNotContain("rror", r.Stdout + r.Stderr, StringComparison.Ordinal);
        }
    }

    /// <summary>vda's chain from the domain's XML (live when running, else the persistent definition): source, then each backingStore.</summary>
    public IReadOnlyList<string> XmlChain(bool live = true)
    {
        using var domain = Connection.LookupDomainByName(Name);
        return SnapshotXml.Chain(domain.GetXmlDesc(live ? DomainXmlFlags.None : DomainXmlFlags.Inactive), "vda");
    }

    /// <summary>The chain qemu-img reads from <paramref name="top"/>.</summary>
    public static async Task<IReadOnlyList<string>> FileChainAsync(string top) =>
        [.. (await StorageTestKit.QemuImg.InfoBackingChainAsync(top)).Select(i => i.Filename)];

    public IReadOnlyList<string> SnapshotNames()
    {
        using var domain = Connection.LookupDomainByName(Name);
        var all = domain.ListAllSnapshots();
        var names = all.Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
        foreach (var s in all) s.Dispose();
        return names;
    }

    public DomainState State()
    {
        using var domain = Connection.LookupDomainByName(Name);
        return domain.GetState().State;
    }

    /// <summary>Asserts the guest-visible bytes of <paramref name="image"/> in 64 KiB blocks: pattern per block index.</summary>
    public static async Task AssertBytesAsync(string image, params byte[] blocks)
    {
        for (var i = 0; i < blocks.Length; i++)
        {
            Assert.True(await StorageTestKit.ReadsAsync(image, blocks[i], i * K64, K64), $"{image} block {i} should read 0x{blocks[i]:x2}");
        }
    }

    public void Dispose()
    {
        Cleanup.Dispose();
        Connection.Dispose();
    }
}
