using System.Xml.Linq;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>
/// The media of one CD-ROM drive for virDomainUpdateDeviceFlags: the drive is named by <see cref="Target"/> and
/// <see cref="Bus"/> (as the domain has it); <see cref="Source"/> null means an empty drive (ejected);
/// <see cref="Block"/> a host block device (type='block', source dev=) instead of an ISO file.
/// </summary>
public sealed record CdromMediaSpec(string Target, string Bus, string? Source, bool Block = false);

/// <summary>Pure builder of a CD-ROM <c>&lt;disk device='cdrom'&gt;</c> element (no I/O): the same spec gives the same XML.</summary>
public static class CdromDeviceXml
{
    public static XElement Build(CdromMediaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var block = spec.Block && spec.Source is not null;
        return new XElement("disk",
            new XAttribute("type", block ? "block" : "file"),
            new XAttribute("device", "cdrom"),
            new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "raw")),
            spec.Source is null ? null : new XElement("source", new XAttribute(block ? "dev" : "file", spec.Source)),
            new XElement("target", new XAttribute("dev", spec.Target), new XAttribute("bus", spec.Bus)),
            new XElement("readonly"));
    }

    /// <summary>The device XML as libvirt takes it.</summary>
    public static string BuildString(CdromMediaSpec spec) => Build(spec).ToString();
}
