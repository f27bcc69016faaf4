using System.Globalization;
using System.Xml.Linq;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>
/// A host device to pass through (passthroughDevice): a PCI function <c>DDDD:BB:SS.F</c> (bus, slot, function as lspci
/// prints them) or a USB device by bus and device number (as lsusb prints them).
/// </summary>
public sealed record HostDeviceAddress
{
    private HostDeviceAddress(string type, int bus, int slot, int function, int device)
    {
        Type = type;
        Bus = bus;
        Slot = slot;
        Function = function;
        Device = device;
    }

    /// <summary><c>pci</c> or <c>usb</c>.</summary>
    public string Type { get; }
    public int Bus { get; }
    public int Slot { get; }
    public int Function { get; }
    public int Device { get; }

    public static HostDeviceAddress Pci(int bus, int slot, int function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 0xff);
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, 0x1f);
        ArgumentOutOfRangeException.ThrowIfNegative(function);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(function, 7);
        return new HostDeviceAddress("pci", bus, slot, function, 0);
    }

    public static HostDeviceAddress Usb(int bus, int device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bus, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 999);
        ArgumentOutOfRangeException.ThrowIfLessThan(device, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(device, 127);
        return new HostDeviceAddress("usb", bus, 0, 0, device);
    }

    /// <summary><c>0000:01:00.0</c> (PCI, the sysfs name) or <c>001:002</c> (USB, as lsusb prints bus and device).</summary>
    public override string ToString() => Type == "pci"
        ? string.Create(CultureInfo.InvariantCulture, $"0000:{Bus:x2}:{Slot:x2}.{Function:x}")
        : string.Create(CultureInfo.InvariantCulture, $"{Bus:D3}:{Device:D3}");

    /// <summary>A human name: "PCI device 0000:01:00.0" / "USB device 001:002".</summary>
    public string Describe() => $"{Type.ToUpperInvariant()} device {this}";
}

/// <summary>Pure builders of <c>&lt;hostdev&gt;</c> (passthroughDevice) and <c>&lt;redirdev&gt;</c> (redirectUsb) elements.</summary>
public static class HostDeviceXml
{
    /// <summary>
    /// <c>&lt;hostdev mode='subsystem' type='pci|usb' managed='yes'&gt;</c> with the host address: libvirt detaches a
    /// managed PCI device from its host driver (binds it to vfio-pci) on attach and gives it back on detach.
    /// </summary>
    public static XElement Build(HostDeviceAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var source = address.Type == "pci"
            ? new XElement("address",
                new XAttribute("domain", "0x0000"),
                new XAttribute("bus", Hex(address.Bus, 2)),
                new XAttribute("slot", Hex(address.Slot, 2)),
                new XAttribute("function", Hex(address.Function, 1)))
            : new XElement("address",
                new XAttribute("bus", address.Bus.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("device", address.Device.ToString(CultureInfo.InvariantCulture)));
        return new XElement("hostdev",
            new XAttribute("mode", "subsystem"),
            new XAttribute("type", address.Type),
            new XAttribute("managed", "yes"),
            new XElement("source", source));
    }

    /// <summary>The <c>&lt;hostdev&gt;</c> of <paramref name="domain"/> passing through <paramref name="address"/>, or null.</summary>
    public static XElement? Find(XDocument domain, HostDeviceAddress address)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(address);
        return domain.Root?.Element("devices")?.Elements("hostdev")
            .Where(h => (string?)h.Attribute("type") == address.Type)
            .FirstOrDefault(h => h.Element("source")?.Element("address") is { } a && Matches(a, address));
    }

    /// <summary>One USB redirection channel for a SPICE client (<c>&lt;redirdev bus='usb' type='spicevmc'/&gt;</c>).</summary>
    public static XElement SpiceUsbRedirection() =>
        new("redirdev", new XAttribute("bus", "usb"), new XAttribute("type", "spicevmc"));

    /// <summary>The SPICE USB redirection channels of <paramref name="domain"/>.</summary>
    public static IReadOnlyList<XElement> SpiceUsbRedirections(XDocument domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.Root?.Element("devices")?.Elements("redirdev")
            .Where(r => (string?)r.Attribute("bus") == "usb" && (string?)r.Attribute("type") == "spicevmc")
            .ToList() ?? [];
    }

    private static bool Matches(XElement a, HostDeviceAddress address)
    {
        if (address.Type == "pci")
        {
            return Number((string?)a.Attribute("domain")) == 0 && Number((string?)a.Attribute("bus")) == address.Bus
                   && Number((string?)a.Attribute("slot")) == address.Slot && Number((string?)a.Attribute("function")) == address.Function;
        }

        return Number((string?)a.Attribute("bus")) == address.Bus && Number((string?)a.Attribute("device")) == address.Device;
    }

    /// <summary>libvirt writes 0x-prefixed hex or plain decimal numbers in addresses.</summary>
    private static int? Number(string? text)
    {
        if (text is null) return null;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h) ? h : null;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    private static string Hex(int value, int digits) =>
        "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
