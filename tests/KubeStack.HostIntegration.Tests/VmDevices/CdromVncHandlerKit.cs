using System.Text.Json.Nodes;
using System.Xml.Linq;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// What the CD-ROM, VNC and updateOS handler tests share: a small domain (no guest boot needed — QEMU's own devices are
/// what these operations change), running a handler as the agent's runtime would, and asserting its outcome.
/// </summary>
internal static class CdromVncHandlerKit
{
    public const string Node = "lab-node";
    public const string ImagesDir = "/var/lib/libvirt/images";

    /// <summary>
    /// A TCG domain without a kernel (SeaBIOS idles: nothing to boot), with an optional qcow2 <c>vda</c>, an optional
    /// empty IDE CD-ROM <c>hdc</c> and an optional VNC console on 127.0.0.1 (autoport) with an optional password.
    /// </summary>
    public static string DomainXml(string name, string? vda = null, bool cdrom = false, bool vnc = false, string? vncPassword = null) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 64),
            new XElement("vcpu", 1),
            new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm")),
            new XElement("on_poweroff", "destroy"),
            new XElement("devices",
                new XElement("emulator", "/usr/bin/qemu-system-x86_64"),
                vda is null ? null : new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
                    new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
                    new XElement("source", new XAttribute("file", vda)),
                    new XElement("target", new XAttribute("dev", "vda"), new XAttribute("bus", "virtio"))),
                !cdrom ? null : new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "cdrom"),
                    new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "raw")),
                    new XElement("target", new XAttribute("dev", "hdc"), new XAttribute("bus", "ide")),
                    new XElement("readonly")),
                !vnc ? null : new XElement("graphics", new XAttribute("type", "vnc"), new XAttribute("autoport", "yes"),
                    new XAttribute("listen", "127.0.0.1"),
                    vncPassword is null ? null : new XAttribute("passwd", vncPassword)))).ToString();

    public static async Task<HandlerResult> RunAsync(ILifecycleHandler handler, string vm, JsonObject parameters, int attempt = 1)
    {
        var ctx = new RequestContext
        {
            Object = new KubeStackResource
            {
                ApiVersion = KubeStackResource.GroupVersion,
                Kind = Kinds.VirtualMachine,
                Metadata = new V1ObjectMeta { Name = vm, NamespaceProperty = "default" },
                Spec = new KubeStackSpec(),
            },
            Operation = CatalogLoader.Default.Find(Kinds.VirtualMachine, handler.Key) ?? throw new InvalidOperationException(handler.Key),
            Parameters = parameters,
            NodeName = Node,
            Attempt = attempt,
            Logger = NullLogger.Instance,
        };
        return await handler.HandleAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(90));
    }

    public static HandlerResult.Success AssertSucceeded(HandlerResult result, string messagePart)
    {
        Assert.False(result is HandlerResult.Failure, $"expected success, got {(result as HandlerResult.Failure)?.ErrorClass}: {(result as HandlerResult.Failure)?.Message}");
        var success = Assert.IsType<HandlerResult.Success>(result);
        Assert.Contains(messagePart, success.Message, StringComparison.Ordinal);
        Assert.NotNull(success.View);
        return success;
    }

    public static HandlerResult.Failure AssertFailed(HandlerResult result, string errorClass, string messagePart)
    {
        Assert.False(result is HandlerResult.Success, $"expected {errorClass}, got success: {(result as HandlerResult.Success)?.Message}");
        var failure = Assert.IsType<HandlerResult.Failure>(result);
        Assert.Equal(errorClass, failure.ErrorClass);
        Assert.Contains(messagePart, failure.Message, StringComparison.Ordinal);
        return failure;
    }

    public static XDocument Xml(LibvirtDomain dom, DomainXmlFlags flags) => XDocument.Parse(dom.GetXmlDesc(flags));

    public static Task<HostToolResult> ToolAsync(string tool, params string[] arguments) =>
        HostToolRunner.Default.RunAsync(tool, arguments, CancellationToken.None);

    /// <summary>Destroys (if running) and starts the domain again: QEMU restarts with the persistent definition.</summary>
    public static void Restart(LibvirtDomain dom)
    {
        if (dom.IsActive())
        {
            dom.Destroy();
        }

        dom.Create();
    }
}

/// <summary>
/// One handler test's host side: the handlers' own libvirt connection (as in the agent), the test's connection, the
/// cleanup of what the test made, and the <see cref="VmHost"/> the handlers take; plus one domain named kst-&lt;what&gt;-….
/// </summary>
internal sealed class DeviceHandlerLab : IDisposable
{
    private readonly LibvirtHost _libvirt = new(LabEnvironment.SystemUri);

    public DeviceHandlerLab(string what)
    {
        Conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        Cleanup = new LibvirtCleanup(Conn);
        Host = new VmHost(_libvirt, new AgentOptions { NodeName = CdromVncHandlerKit.Node, DomainType = DomainType.Qemu });
        Name = Cleanup.Domain(LabEnvironment.UniqueName(what));
        Directory.CreateDirectory(CdromVncHandlerKit.ImagesDir);
    }

    public LibvirtConnection Conn { get; }
    public LibvirtCleanup Cleanup { get; }
    public VmHost Host { get; }
    public string Name { get; }

    /// <summary>A file path kst-…-<paramref name="suffix"/> under /var/lib/libvirt/images, deleted at the end.</summary>
    public string ImagePath(string suffix) => Cleanup.PathToDelete(Path.Combine(CdromVncHandlerKit.ImagesDir, $"{Name}-{suffix}"));

    public void Dispose()
    {
        Cleanup.Dispose();
        Conn.Dispose();
        _libvirt.Dispose();
    }
}
