using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// passthroughDevice, redirectUsb and a hostdev through plugDevice on the real libvirtd. This machine has no IOMMU and
/// no USB bus, so nothing can really be passed through: a missing device is a LibvirtError naming it, a present PCI
/// device is refused by libvirt itself (live), and the definition-only path (stopped VM) adds and removes a real
/// host PCI address. redirectUsb needs SPICE: refused by libvirt on a VM without it, and on a SPICE VM the definition
/// holds the asked number of channels, which QEMU accepts when the VM starts.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class PassthroughDeviceTests
{
    private const string ImagesDir = "/var/lib/libvirt/images";

    [LabFact]
    public async Task Host_devices_are_refused_naming_the_device_and_definition_changes_are_read_back()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var name = cleanup.Domain(LabEnvironment.UniqueName("pt"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, Path.Combine(work, "serial.log"), null));
        dom.Create();

        // a PCI function the host does not have: named, nothing changed
        NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", Pci("add", "7f", "1f", "7")),
            ErrorClasses.LibvirtError, "node lab-node has no host PCI device 0000:7f:1f.7");
        // USB: this machine has no USB bus at all (or not this device)
        NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", new Dictionary<string, string>
            { ["action"] = "add", ["dev_type"] = "usb", ["bus_num"] = "1", ["sub_bus_num"] = "0", ["dev_num"] = "99" }), ErrorClasses.LibvirtError, "USB device 001:099");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", Pci("remove", "7f", "1f", "7")), ErrorClasses.LibvirtError, "is not passed through");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", Pci("add", "01", "20", "0")), ErrorClasses.VirtctlError, "passthroughDevice.sub_bus_num");

        // a PCI function the host has, live: libvirt itself refuses (no IOMMU/VFIO here) and the message names the device.
        // Only where the host has no IOMMU groups: elsewhere libvirt would really take the device from the host.
        var present = Directory.EnumerateDirectories("/sys/bus/pci/devices").Select(Path.GetFileName).Order(StringComparer.Ordinal).Last()!;
        var (bus, slot, function) = (present[5..7], present[8..10], present[11..]);
        var hostHasIommu = Directory.Exists("/sys/kernel/iommu_groups") && Directory.EnumerateFileSystemEntries("/sys/kernel/iommu_groups").Any();
        if (!hostHasIommu)
        {
            var refused = NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", Pci("add", bus, slot, function, live: true)),
                ErrorClasses.LibvirtError, $"PCI device {present}");
            Assert.Contains("libvirt reported", refused.Message, StringComparison.Ordinal);
            Assert.Empty(Hostdevs(dom, DomainXmlFlags.None));
            Assert.Empty(Hostdevs(dom, DomainXmlFlags.Inactive));

            // the same through plugDevice with a hostdev file: libvirt's words
            var file = cleanup.PathToDelete(Path.Combine(ImagesDir, name + "-hostdev.xml"));
            await File.WriteAllTextAsync(file, HostDeviceXml.Build(HostDeviceAddress.Pci(0x7f, 0x1f, 7)).ToString());
            NicTestKit.AssertFailed(await kit.RunAsync(name, "plugDevice", new Dictionary<string, string> { ["file"] = file, ["live"] = "true" }),
                ErrorClasses.LibvirtError, "plugDevice of <hostdev> bus=127,domain=0,function=7,slot=31 on VM");
        }

        // stopped VM: the definition takes the present device (libvirt checks it only at start) and gives it back
        dom.Destroy();
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "passthroughDevice", Pci("add", bus, slot, function)), $"Host PCI device {present} was passed through");
        Assert.NotNull(HostDeviceXml.Find(Xml(dom, DomainXmlFlags.Inactive), HostDeviceAddress.Pci(Convert.ToInt32(bus, 16), Convert.ToInt32(slot, 16), Convert.ToInt32(function, 16))));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "passthroughDevice", Pci("add", bus, slot, function)), ErrorClasses.LibvirtError, "is already passed through");
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "passthroughDevice", Pci("add", bus, slot, function), attempt: 2), "earlier attempt");
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "passthroughDevice", Pci("remove", bus, slot, function)), "was removed");
        Assert.Empty(Hostdevs(dom, DomainXmlFlags.Inactive));

        // redirectUsb without SPICE graphics: libvirt's refusal
        NicTestKit.AssertFailed(await kit.RunAsync(name, "redirectUsb", new Dictionary<string, string> { ["action"] = "on" }),
            ErrorClasses.LibvirtError, "spice graphics");
        Assert.Empty(HostDeviceXml.SpiceUsbRedirections(Xml(dom, DomainXmlFlags.Inactive)));
    }

    [LabFact]
    public async Task Usb_redirection_channels_are_set_in_the_definition_of_a_spice_vm_and_qemu_starts_with_them()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var name = cleanup.Domain(LabEnvironment.UniqueName("redir"));
        var work = LabGuest.NewWorkDir(cleanup, name);
        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, Path.Combine(work, "serial.log"), null,
            new XElement("graphics", new XAttribute("type", "spice"), new XAttribute("autoport", "yes"), new XAttribute("listen", "127.0.0.1")),
            new XElement("controller", new XAttribute("type", "usb"), new XAttribute("model", "qemu-xhci"))));

        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "redirectUsb", new Dictionary<string, string> { ["action"] = "on", ["number"] = "2" }), "has 2 SPICE USB redirection channels");
        Assert.Equal(2, HostDeviceXml.SpiceUsbRedirections(Xml(dom, DomainXmlFlags.Inactive)).Count);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "redirectUsb", new Dictionary<string, string> { ["action"] = "on" }), "has 4 SPICE USB redirection channels in its definition (was 2)");
        Assert.Equal(4, HostDeviceXml.SpiceUsbRedirections(Xml(dom, DomainXmlFlags.Inactive)).Count);

        // QEMU accepts them: the VM starts and the running domain has the four usb-redir channels
        dom.Create();
        Assert.Equal(4, HostDeviceXml.SpiceUsbRedirections(Xml(dom, DomainXmlFlags.None)).Count);
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "redirectUsb", new Dictionary<string, string> { ["action"] = "off" }), "when the VM is next started");
        Assert.Empty(HostDeviceXml.SpiceUsbRedirections(Xml(dom, DomainXmlFlags.Inactive)));
        NicTestKit.AssertFailed(await kit.RunAsync(name, "redirectUsb", new Dictionary<string, string> { ["action"] = "on", ["number"] = "9" }), ErrorClasses.VirtctlError, "redirectUsb.number");
    }

    private static Dictionary<string, string> Pci(string action, string bus, string slot, string function, bool live = false)
    {
        var p = new Dictionary<string, string> { ["action"] = action, ["dev_type"] = "pci", ["bus_num"] = bus, ["sub_bus_num"] = slot, ["dev_num"] = function };
        if (live) p["live"] = "true";
        return p;
    }

    private static XDocument Xml(LibvirtDomain dom, DomainXmlFlags flags) => XDocument.Parse(dom.GetXmlDesc(flags));

    private static IEnumerable<XElement> Hostdevs(LibvirtDomain dom, DomainXmlFlags flags) => Xml(dom, flags).Root!.Element("devices")!.Elements("hostdev");
}
