using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// The device/configuration handlers (plugDisk, unplugDisk, changeNumberOfCPU, resizeRAM, resizeMaxRAM, setBootOrder)
/// run against ONE booted TCG lab guest on the real libvirtd. Every step asserts the real effect: the guest's own
/// LAB-TICK serial line (disks it sees, online CPUs), the balloon (virsh dommemstat), and the live and inactive XML.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VmDeviceHandlerTests
{
    private const string Node = "lab-node";
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(60);
    private const string ImagesDir = "/var/lib/libvirt/images";

    [LabFact]
    public async Task Disk_cpu_memory_and_boot_order_changes_reach_the_running_guest_and_the_persistent_definition()
    {
        using var libvirt = new LibvirtHost(LabEnvironment.SystemUri);   // the handlers' own connection, as in the agent
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var host = new VmHost(libvirt, new AgentOptions { NodeName = Node, DomainType = DomainType.Qemu });
        var name = cleanup.Domain(LabEnvironment.UniqueName("dev"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        var serial = Path.Combine(work, "serial.log");
        Directory.CreateDirectory(ImagesDir);
        var vda = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vda.qcow2"));
        var vdb = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-vdb.qcow2"));
        var other = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-other.qcow2"));
        foreach (var disk in new[] { vda, vdb, other })
        {
            await HostToolRunner.Default.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "16M"], CancellationToken.None);
        }

        using var dom = conn.DefineXml(LabGuest.DomainXml(name, serial, vda));
        dom.Create();
        await Await.LineAsync(serial, "LAB-TICK", BootTimeout);

        // plugDisk (no flags on a running VM: live and persistent): the guest sees vdb
        var mark = Await.LineCount(serial);
        var r = await RunAsync(host, name, "plugDisk", new() { ["source"] = vdb, ["target"] = "vdb", ["cache"] = "none" });
        AssertSucceeded(r, "attached");
        await Await.LineAsync(serial, "disks=vda,vdb ", GuestTimeout, mark);
        Assert.Equal(vdb, SourceOf(dom, DomainXmlFlags.None, "vdb"));
        Assert.Equal(vdb, SourceOf(dom, DomainXmlFlags.Inactive, "vdb"));

        // the same request again is the seed's error; another disk on the same target is refused naming the user
        AssertFailed(await RunAsync(host, name, "plugDisk", new() { ["source"] = vdb, ["target"] = "vdb" }), ErrorClasses.LibvirtError, "already attached");
        AssertFailed(await RunAsync(host, name, "plugDisk", new() { ["source"] = other, ["target"] = "vdb" }), ErrorClasses.LibvirtError, "already used by " + vdb);
        // a resumed attempt (crash after the attach) finds it done: success, no second disk
        AssertSucceeded(await RunAsync(host, name, "plugDisk", new() { ["source"] = vdb, ["target"] = "vdb" }, attempt: 2), "earlier attempt");
        Assert.Single(Disks(dom, DomainXmlFlags.None), d => d == "vdb");
        // a path outside the allowed roots never reaches libvirt
        AssertFailed(await RunAsync(host, name, "plugDisk", new() { ["source"] = "/etc/passwd", ["target"] = "vdc" }), ErrorClasses.VirtctlError, "plugDisk.source");
        Assert.Null(SourceOf(dom, DomainXmlFlags.None, "vdc"));

        // unplugDisk: the guest loses vdb, both definitions drop it, the file stays
        mark = Await.LineCount(serial);
        AssertSucceeded(await RunAsync(host, name, "unplugDisk", new() { ["target"] = "vdb" }), "detached");
        await Await.LineAsync(serial, "disks=vda ", GuestTimeout, mark);
        Assert.Null(SourceOf(dom, DomainXmlFlags.None, "vdb"));
        Assert.Null(SourceOf(dom, DomainXmlFlags.Inactive, "vdb"));
        Assert.True(File.Exists(vdb));
        AssertFailed(await RunAsync(host, name, "unplugDisk", new() { ["target"] = "vdb" }), ErrorClasses.LibvirtError, "has no disk with target vdb");

        // changeNumberOfCPU: plug to 2 (the guest onlines CPU 1), persistent too
        mark = Await.LineCount(serial);
        AssertSucceeded(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "2" }), "2 vCPUs");
        await Await.LineAsync(serial, "cpus_online=0-1 ", GuestTimeout, mark);
        Assert.Equal(2, dom.GetInfo().VirtualCpus);
        Assert.Equal((2u, 2u), ChangeNumberOfCPUHandler.Vcpus(Inactive(dom)));
        // live unplug under TCG is refused before touching QEMU; above the maximum is refused
        AssertFailed(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "1", ["live"] = "true" }), ErrorClasses.VirtctlError, "TCG");
        Assert.Equal(2, dom.GetInfo().VirtualCpus);
        AssertFailed(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "3" }), ErrorClasses.LibvirtError, "exceeds the maximum of 2");
        AssertFailed(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "2", ["cores"] = "2" }), ErrorClasses.VirtctlError, "changeNumberOfCPU.cores");

        // resizeRAM: the balloon shrinks to 160 MiB (dommemstat actual) and the definition says so
        AssertSucceeded(await RunAsync(host, name, "resizeRAM", new() { ["size"] = "163,840" }), "163840 KiB");
        Assert.Equal(163840UL, dom.GetInfo().MemoryKiB);
        Assert.Equal("163840", await DomMemStatAsync(name, "actual"));
        Assert.Equal(163840UL, ResizeRAMHandler.Memory(Inactive(dom)).Current);
        AssertFailed(await RunAsync(host, name, "resizeRAM", new() { ["size"] = "524288" }), ErrorClasses.LibvirtError, "exceeds the maximum memory");
        AssertFailed(await RunAsync(host, name, "resizeRAM", new() { ["size"] = "1000" }), ErrorClasses.VirtctlError, "resizeRAM.size");

        // resizeMaxRAM needs a stopped VM
        AssertFailed(await RunAsync(host, name, "resizeMaxRAM", new() { ["size"] = "307200" }), ErrorClasses.LibvirtError, "is Running");

        // setBootOrder: persistent per-device order; an unknown target lists the VM's disks
        AssertSucceeded(await RunAsync(host, name, "setBootOrder", new() { ["order"] = "vda" }), "Boot order");
        Assert.Equal(["vda"], BootOrderXml.Read(Inactive(dom)));
        AssertFailed(await RunAsync(host, name, "setBootOrder", new() { ["order"] = "vdz" }), ErrorClasses.VirtctlError, "it has: vda");

        // stopped VM: configuration-only changes
        dom.Destroy();
        AssertSucceeded(await RunAsync(host, name, "resizeMaxRAM", new() { ["size"] = "307200" }), "307200 KiB");
        Assert.Equal(307200UL, ResizeRAMHandler.Memory(Inactive(dom)).Maximum);
        AssertSucceeded(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "4", ["maximum"] = "true" }), "maximum vCPUs set to 4");
        AssertSucceeded(await RunAsync(host, name, "changeNumberOfCPU", new() { ["count"] = "1" }), "1 vCPUs");
        Assert.Equal((1u, 4u), ChangeNumberOfCPUHandler.Vcpus(Inactive(dom)));
        AssertFailed(await RunAsync(host, name, "plugDisk", new() { ["source"] = vdb, ["target"] = "vdb", ["live"] = "true" }), ErrorClasses.LibvirtError, "needs a running VM");
        AssertSucceeded(await RunAsync(host, name, "plugDisk", new() { ["source"] = vdb, ["target"] = "vdb" }), "persistently");
        Assert.Equal(vdb, SourceOf(dom, DomainXmlFlags.Inactive, "vdb"));

        // a VM without a domain: VirtletError
        AssertFailed(await RunAsync(host, "kst-dev-nosuchvm", "resizeRAM", new() { ["size"] = "163840" }), ErrorClasses.VirtletError, "has no libvirt domain");
    }

    private static async Task<HandlerResult> RunAsync(VmHost host, string vm, string key, JsonObject parameters, int attempt = 1)
    {
        ILifecycleHandler handler = key switch
        {
            "plugDisk" => new PlugDiskHandler(host),
            "unplugDisk" => new UnplugDiskHandler(host),
            "changeNumberOfCPU" => new ChangeNumberOfCPUHandler(host),
            "resizeRAM" => new ResizeRAMHandler(host),
            "resizeMaxRAM" => new ResizeMaxRAMHandler(host),
            "setBootOrder" => new SetBootOrderHandler(host),
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        var ctx = new RequestContext
        {
            Object = new KubeStackResource
            {
                ApiVersion = KubeStackResource.GroupVersion,
                Kind = Kinds.VirtualMachine,
                Metadata = new V1ObjectMeta { Name = vm, NamespaceProperty = "default" },
                Spec = new KubeStackSpec(),
            },
            Operation = CatalogLoader.Default.Find(Kinds.VirtualMachine, key) ?? throw new InvalidOperationException(key),
            Parameters = parameters,
            NodeName = Node,
            Attempt = attempt,
            Logger = NullLogger.Instance,
        };
        return await handler.HandleAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(90));
    }

    private static void AssertSucceeded(HandlerResult result, string messagePart)
    {
        Assert.False(result is HandlerResult.Failure, $"expected success, got {(result as HandlerResult.Failure)?.ErrorClass}: {(result as HandlerResult.Failure)?.Message}");
        var success = Assert.IsType<HandlerResult.Success>(result);
        Assert.Contains(messagePart, success.Message, StringComparison.Ordinal);
        Assert.NotNull(success.View);
    }

    private static void AssertFailed(HandlerResult result, string errorClass, string messagePart)
    {
        Assert.False(result is HandlerResult.Success, $"expected {errorClass}, got success: {(result as HandlerResult.Success)?.Message}");
        var failure = Assert.IsType<HandlerResult.Failure>(result);
        Assert.Equal(errorClass, failure.ErrorClass);
        Assert.Contains(messagePart, failure.Message, StringComparison.Ordinal);
    }

    private static XDocument Inactive(LibvirtDomain dom) => XDocument.Parse(dom.GetXmlDesc(DomainXmlFlags.Inactive));

    private static IEnumerable<string> Disks(LibvirtDomain dom, DomainXmlFlags flags) =>
        XDocument.Parse(dom.GetXmlDesc(flags)).Root!.Element("devices")!.Elements("disk")
            .Select(d => (string)d.Element("target")!.Attribute("dev")!);

    private static string? SourceOf(LibvirtDomain dom, DomainXmlFlags flags, string target) =>
        XDocument.Parse(dom.GetXmlDesc(flags)).Root!.Element("devices")!.Elements("disk")
            .Where(d => (string?)d.Element("target")?.Attribute("dev") == target)
            .Select(d => (string?)d.Element("source")?.Attribute("file"))
            .FirstOrDefault();

    private static async Task<string?> DomMemStatAsync(string vm, string key)
    {
        var result = await HostToolRunner.Default.RunAsync("virsh", ["-c", LabEnvironment.SystemUri, "dommemstat", vm], CancellationToken.None);
        return result.Stdout.Split('\n')
            .Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 2 && p[0] == key)
            .Select(p => p[1].ToString(CultureInfo.InvariantCulture))
            .FirstOrDefault();
    }
}
