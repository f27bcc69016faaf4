using System.Globalization;
using System.Xml.Linq;
using KubeStack.Contracts.Formats;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>
/// A NIC to hot-plug (plugNIC) after validation. <see cref="Bridge"/> is the bridge it plugs into: a Linux bridge
/// (<c>bridge</c>), an OVS bridge (<c>l2bridge</c>: <c>&lt;virtualport type='openvswitch'/&gt;</c>, optional access VLAN
/// <see cref="VlanTag"/>) or the OVN integration bridge (<c>l3bridge</c>: the virtualport carries
/// <see cref="InterfaceId"/>, the name of the OVN logical switch port, which ovn-controller binds). Bandwidths in KiB/s.
/// </summary>
public sealed record NicDeviceSpec(
    NicType Type,
    string Bridge,
    string Mac,
    string? InterfaceId = null,
    int? VlanTag = null,
    long? InboundKiB = null,
    long? OutboundKiB = null,
    string Model = "virtio");

/// <summary>Pure builder of an <c>&lt;interface type='bridge'&gt;</c> device element (the same spec gives the same XML).</summary>
public static class NicDeviceXml
{
    public static XElement Build(NicDeviceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Type == NicType.L3Bridge && spec.InterfaceId is null)
        {
            throw new ArgumentException("an l3bridge NIC needs the interface id of its OVN logical switch port", nameof(spec));
        }

        if (spec.VlanTag is not null && spec.Type != NicType.L2Bridge)
        {
            throw new ArgumentException("only an l2bridge (OVS) NIC carries a VLAN tag here", nameof(spec));
        }

        var element = new XElement("interface",
            new XAttribute("type", "bridge"),
            new XElement("mac", new XAttribute("address", spec.Mac.ToLowerInvariant())),
            new XElement("source", new XAttribute("bridge", spec.Bridge)));
        if (spec.Type != NicType.Bridge)
        {
            element.Add(new XElement("virtualport",
                new XAttribute("type", "openvswitch"),
                spec.InterfaceId is null ? null : new XElement("parameters", new XAttribute("interfaceid", spec.InterfaceId))));
        }

        if (spec.VlanTag is { } tag)
        {
            element.Add(new XElement("vlan", new XElement("tag", new XAttribute("id", tag.ToString(CultureInfo.InvariantCulture)))));
        }

        if (spec.InboundKiB is > 0 || spec.OutboundKiB is > 0)
        {
            element.Add(new XElement("bandwidth",
                spec.InboundKiB is > 0 ? new XElement("inbound", new XAttribute("average", spec.InboundKiB.Value.ToString(CultureInfo.InvariantCulture))) : null,
                spec.OutboundKiB is > 0 ? new XElement("outbound", new XAttribute("average", spec.OutboundKiB.Value.ToString(CultureInfo.InvariantCulture))) : null));
        }

        element.Add(new XElement("model", new XAttribute("type", spec.Model)));
        return element;
    }

    public static string BuildString(NicDeviceSpec spec) => Build(spec).ToString();

    /// <summary>The <c>&lt;interface&gt;</c> of <paramref name="domain"/> with MAC <paramref name="mac"/> (any case), or null.</summary>
    public static XElement? Find(XDocument domain, string mac)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.Root?.Element("devices")?.Elements("interface")
            .FirstOrDefault(i => string.Equals((string?)i.Element("mac")?.Attribute("address"), mac, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The OVN logical port name (virtualport interfaceid) of an interface element, or null.</summary>
    public static string? InterfaceIdOf(XElement nic) =>
        (string?)nic.Element("virtualport")?.Element("parameters")?.Attribute("interfaceid");

    /// <summary>The host-side device (tap, e.g. vnet3) of a running NIC, or null.</summary>
    public static string? TargetOf(XElement nic) => (string?)nic.Element("target")?.Attribute("dev");

    /// <summary>The bridge a NIC is plugged into.</summary>
    public static string? BridgeOf(XElement nic) => (string?)nic.Element("source")?.Attribute("bridge");
}
