using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Xml;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;

/// <summary>
/// What one VM test needs on the host, all named kst-…: a Linux bridge for the NIC, a qcow2 disk and a copy of the lab
/// ISO under /var/lib/libvirt/images (an allowed root; the lab's own ISO lies outside the roots), a serial-log
/// directory. Everything is removed on dispose, including domains the test registered.
/// </summary>
internal sealed class VmLab : IAsyncDisposable
{
    public const string ImagesDir = "/var/lib/libvirt/images";

    private VmLab(string name, LibvirtConnection conn)
    {
        Name = name;
        Cleanup = new LibvirtCleanup(conn);
        Bridge = "kb" + name[^8..];
        Disk = Cleanup.PathToDelete(Path.Combine(ImagesDir, name + ".qcow2"));
        Iso = Cleanup.PathToDelete(Path.Combine(ImagesDir, name + ".iso"));
        SerialDir = LabGuest.NewWorkDir(Cleanup, name);
    }

    public string Name { get; }
    public LibvirtCleanup Cleanup { get; }
    public string Bridge { get; }
    public string Disk { get; }
    public string Iso { get; }
    public string SerialDir { get; }

    public string SerialLog(string vm) => Path.Combine(SerialDir, vm + "-serial.log");

    public static async Task<VmLab> CreateAsync(string name, LibvirtConnection conn)
    {
        var lab = new VmLab(name, conn);
        Directory.CreateDirectory(ImagesDir);
        await VmAgentHarness.ToolAsync("ip", "link", "add", "name", lab.Bridge, "type", "bridge");
        await VmAgentHarness.ToolAsync("ip", "link", "set", lab.Bridge, "up");
        await VmAgentHarness.ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", lab.Disk, "64M");
        File.Copy(LabEnvironment.Iso, lab.Iso, overwrite: true);
        return lab;
    }

    /// <summary>createAndStartVMFromISO parameters as a client sends them (strings), with a VNC password.</summary>
    public JsonObject IsoInstall(string? iso = null, string? disk = null) => new()
    {
        ["disk"] = $"{disk ?? Disk} --disk {iso ?? Iso},device=cdrom,perms=ro",
        ["memory"] = "256",
        ["vcpus"] = "1",
        ["network"] = $"type=bridge,source={Bridge}",
        ["graphics"] = "vnc,listen=127.0.0.1,password=kstpw123",
        ["os_variant"] = "linux2022",
        ["noautoconsole"] = true,
    };

    public ValueTask DisposeAsync()
    {
        Cleanup.Dispose();
        _ = VmAgentHarness.ToolAsync("ip", "link", "del", Bridge).GetAwaiter().GetResult();
        return ValueTask.CompletedTask;
    }
}

internal static class VmAssert
{
    /// <summary>spec.domain, spec.powerstate and status.powerState equal what libvirt reports now; spec.status is the outcome.</summary>
    public static void ViewsMatchLibvirt(KubeStackResource vm, LibvirtConnection conn, string expectedPower, DomainState expectedState)
    {
        using var domain = conn.LookupDomainByName(vm.Metadata.Name);
        Assert.Equal(expectedState, domain.GetState().State);
        Assert.Equal(expectedPower, vm.Spec.PowerState);
        Assert.Equal(expectedPower, vm.Status?.PowerState);
        var live = LibvirtXmlJson.ToJson(domain.GetXmlDesc(DomainXmlFlags.None), LibvirtDocument.Domain);
        Assert.True(JsonNode.DeepEquals(WithoutChannelState(live), WithoutChannelState(vm.Spec.Domain)),
            $"spec.domain differs from libvirt's XML of {vm.Metadata.Name}");
        Assert.DoesNotContain("kstpw123", vm.Spec.Domain!.ToJsonString(), StringComparison.Ordinal);
        Assert.NotNull(vm.Spec.Status);
    }

    /// <summary>
    /// A copy without the guest-agent channel's connection state (<c>channel/target/@state</c>): the guest's qemu-ga
    /// connects and disconnects on its own (after a reset, while it boots), so that attribute can change between the
    /// moment the view was read and this check without anything being wrong.
    /// </summary>
    private static JsonNode? WithoutChannelState(JsonNode? node)
    {
        var copy = node?.DeepClone();
        Strip(copy, insideChannel: false);
        return copy;

        static void Strip(JsonNode? n, bool insideChannel)
        {
            switch (n)
            {
                case JsonObject o:
                    if (insideChannel)
                    {
                        o.Remove("_state");
                    }

                    foreach (var (key, child) in o.ToList())
                    {
                        Strip(child, insideChannel || key == "channel");
                    }

                    break;
                case JsonArray a:
                    foreach (var child in a)
                    {
                        Strip(child, insideChannel);
                    }

                    break;
            }
        }
    }

    public static void Succeeded(KubeStackResource vm, string operation)
    {
        var record = vm.Status?.Lifecycle;
        Assert.True(record is { Phase: RequestPhase.Succeeded }, $"{operation}: {record?.Phase} {record?.Reason}: {record?.Message}");
        Assert.Equal(operation, record!.Key);
    }

    public static void Failed(KubeStackResource vm, string operation, string errorClass, string messagePart)
    {
        var record = vm.Status?.Lifecycle;
        Assert.True(record is { Phase: RequestPhase.Failed }, $"{operation}: expected Failed, got {record?.Phase}: {record?.Message}");
        Assert.Equal(operation, record!.Key);
        Assert.Equal(errorClass, record.Reason);
        Assert.Contains(messagePart, record.Message, StringComparison.Ordinal);
    }
}
