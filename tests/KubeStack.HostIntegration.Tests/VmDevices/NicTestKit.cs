using System.Text.Json.Nodes;
using System.Xml.Linq;
using CliWrap;
using CliWrap.Buffered;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>A lab test that also needs Open vSwitch and OVN (skipped with the reason otherwise).</summary>
public sealed class LabOvnFactAttribute : FactAttribute
{
    public LabOvnFactAttribute()
    {
        if ((LabEnvironment.WhyNoLab ?? Network.NetworkLab.WhyNoOvn) is { } reason) Skip = reason;
    }
}

/// <summary>
/// What the NIC, QoS, guest-credential and passthrough host tests share: the real handlers on the agent's own kind of
/// libvirt connection, a request context as the runtime builds it, lab guest XML with extra devices, host tools run
/// with argument arrays, and the success/failure assertions (the message must never carry a secret).
/// </summary>
internal sealed class NicTestKit : IDisposable
{
    public const string Node = "lab-node";

    public NicTestKit()
    {
        Libvirt = new LibvirtHost(LabEnvironment.SystemUri);
        Host = new VmHost(Libvirt, new AgentOptions { NodeName = Node, DomainType = DomainType.Qemu });
    }

    public LibvirtHost Libvirt { get; }
    public VmHost Host { get; }
    public NetworkHost Network { get; } = new();

    public ILifecycleHandler Handler(string key) => key switch
    {
        "plugNIC" => new PlugNICHandler(Host, Network),
        "unplugNIC" => new UnplugNICHandler(Host, Network),
        "tuneDiskQoS" => new TuneDiskQoSHandler(Host),
        "tuneNICQoS" => new TuneNICQoSHandler(Host),
        "setGuestPassword" => new SetGuestPasswordHandler(Host),
        "injectSshKey" => new InjectSshKeyHandler(Host),
        "passthroughDevice" => new PassthroughDeviceHandler(Host),
        "redirectUsb" => new RedirectUsbHandler(Host),
        "plugDevice" => new PlugDeviceHandler(Host),
        "unplugDevice" => new UnplugDeviceHandler(Host),
        "setQoS" => new SetQoSHandler(Network),
        "deleteVM" => new DeleteVMHandler(Host),
        _ => throw new ArgumentOutOfRangeException(nameof(key)),
    };

    /// <summary>Runs one request of <paramref name="key"/> on VM <paramref name="vm"/>; string values, except true/false (JSON booleans).</summary>
    public async Task<HandlerResult> RunAsync(string vm, string key, IReadOnlyDictionary<string, string> parameters, int attempt = 1)
    {
        var json = new JsonObject();
        foreach (var (k, v) in parameters) json[k] = v is "true" or "false" ? JsonValue.Create(v == "true") : JsonValue.Create(v);
        var handler = Handler(key);
        var ctx = new RequestContext
        {
            Object = new KubeStackResource
            {
                ApiVersion = KubeStackResource.GroupVersion,
                Kind = Kinds.VirtualMachine,
                Metadata = new V1ObjectMeta { Name = vm, NamespaceProperty = "default" },
                Spec = new KubeStackSpec { Lifecycle = new JsonObject { [key] = json.DeepClone() } },
            },
            Operation = CatalogLoader.Default.Find(Kinds.VirtualMachine, key) ?? throw new InvalidOperationException(key),
            Parameters = json,
            NodeName = Node,
            Attempt = attempt,
            Logger = NullLogger.Instance,
        };
        return await handler.HandleAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
    }

    /// <summary>A success whose message has <paramref name="messagePart"/>, with a result view unless <paramref name="view"/> is false (deletions have none).</summary>
    public static HandlerResult.Success AssertSucceeded(HandlerResult result, string messagePart, bool view = true)
    {
        Assert.False(result is HandlerResult.Failure, $"expected success, got {(result as HandlerResult.Failure)?.ErrorClass}: {(result as HandlerResult.Failure)?.Message}");
        var success = Assert.IsType<HandlerResult.Success>(result);
        Assert.True(success.Message?.Contains(messagePart, StringComparison.Ordinal) == true, $"'{messagePart}' is not in: {success.Message}");
        if (view) Assert.NotNull(success.View);
        return success;
    }

    public static HandlerResult.Failure AssertFailed(HandlerResult result, string errorClass, string messagePart)
    {
        Assert.False(result is HandlerResult.Success, $"expected {errorClass}, got success: {(result as HandlerResult.Success)?.Message}");
        var failure = Assert.IsType<HandlerResult.Failure>(result);
        Assert.True(errorClass == failure.ErrorClass, $"expected {errorClass}, got {failure.ErrorClass}: {failure.Message}");
        Assert.True(failure.Message.Contains(messagePart, StringComparison.Ordinal), $"'{messagePart}' is not in: {failure.Message}");
        return failure;
    }

    /// <summary>The lab guest (kernel + busybox initramfs, TCG) with <paramref name="extra"/> devices added.</summary>
    public static string GuestXml(string name, string serial, string? disk, params XElement?[] extra)
    {
        var doc = XDocument.Parse(LabGuest.DomainXml(name, serial, disk));
        doc.Root!.Element("devices")!.Add(extra.Where(e => e is not null));
        return doc.ToString();
    }

    /// <summary>The QEMU guest agent's virtio-serial channel (libvirt picks the host socket).</summary>
    public static XElement AgentChannel() =>
        new("channel", new XAttribute("type", "unix"),
            new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", "org.qemu.guest_agent.0")));

    public static XElement BridgeNic(string bridge, string mac, bool ovs = false) =>
        new("interface", new XAttribute("type", "bridge"),
            new XElement("mac", new XAttribute("address", mac)),
            new XElement("source", new XAttribute("bridge", bridge)),
            ovs ? new XElement("virtualport", new XAttribute("type", "openvswitch")) : null,
            new XElement("model", new XAttribute("type", "virtio")));

    public static XElement DataDisk(string path, string target) => XElement.Parse(LabGuest.DiskDeviceXml(path, target));

    /// <summary>Runs a host tool (argument array) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> ToolAsync(string tool, params string[] args)
    {
        var r = await Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        return (r.ExitCode, r.StandardOutput.Trim(), r.StandardError.Trim());
    }

    /// <summary>Runs a host tool that must succeed; returns stdout.</summary>
    public static async Task<string> Sh(string tool, params string[] args)
    {
        var (code, stdout, stderr) = await ToolAsync(tool, args);
        Assert.True(code == 0, $"{tool} {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }

    /// <summary>The Open vSwitch QoS or Queue rows libvirt made for the VM (external_ids:vm-id), optionally only the
    /// tap <paramref name="ifname"/>'s (external_ids:ifname), as "uuid ifname" lines of <c>ovs-vsctl list</c>.</summary>
    public static async Task<IReadOnlyList<string>> OvsQosRowsAsync(string table, Guid vmId, string? ifname = null)
    {
        var rows = OvsdbJson.ParseTable(await Sh("ovs-vsctl", "--format=json", "--columns=_uuid,external_ids", "list", table));
        return rows.Where(r => r.Map("external_ids").GetValueOrDefault("vm-id") == vmId.ToString("D"))
            .Where(r => ifname is null || r.Map("external_ids").GetValueOrDefault("ifname") == ifname)
            .Select(r => $"{r.Uuid} {r.Map("external_ids").GetValueOrDefault("ifname")}").ToList();
    }

    /// <summary>Whether Open vSwitch still has the row <paramref name="uuid"/> of <paramref name="table"/> (<c>ovs-vsctl list</c> says "no row" otherwise).</summary>
    public static async Task<bool> OvsRowExistsAsync(string table, string uuid)
    {
        var (code, _, stderr) = await ToolAsync("ovs-vsctl", "list", table, uuid);
        Assert.True(code == 0 || stderr.Contains("no row", StringComparison.Ordinal), $"ovs-vsctl list {table} {uuid} exited {code}: {stderr}");
        return code == 0;
    }

    /// <summary>A short unique host interface name (at most 15 characters).</summary>
    public static string ShortName(string prefix) => $"kst-{prefix}{Guid.NewGuid().ToString("N")[..5]}";

    public void Dispose() => Libvirt.Dispose();
}
