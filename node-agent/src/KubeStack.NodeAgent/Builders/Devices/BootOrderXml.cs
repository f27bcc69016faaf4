using System.Globalization;
using System.Xml.Linq;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>A boot order names a disk target the domain does not have.</summary>
public sealed class BootTargetMissingException(string target, IReadOnlyList<string> known)
    : Exception($"setBootOrder.order names {target}, but the VM has no disk with that target (it has: {string.Join(", ", known)}).")
{
    public string Target { get; } = target;
}

/// <summary>
/// Pure edit of a domain definition for setBootOrder: per-device <c>&lt;boot order='n'/&gt;</c> on the named disk
/// targets in the given order; every other boot element (<c>&lt;os&gt;&lt;boot dev=…/&gt;</c> and per-device ones)
/// is removed, because libvirt refuses the two styles together.
/// </summary>
public static class BootOrderXml
{
    public static XDocument Apply(XDocument domain, IReadOnlyList<string> targets)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(targets);
        var copy = new XDocument(domain);
        var root = copy.Root ?? throw new ArgumentException("The domain XML has no root element.", nameof(domain));
        var devices = root.Element("devices");
        var disks = devices?.Elements("disk").ToList() ?? [];
        var byTarget = disks
            .Select(d => ((string?)d.Element("target")?.Attribute("dev"), d))
            .Where(t => t.Item1 is not null)
            .ToDictionary(t => t.Item1!, t => t.d, StringComparer.Ordinal);
        foreach (var target in targets)
        {
            if (!byTarget.ContainsKey(target))
            {
                throw new BootTargetMissingException(target, [.. byTarget.Keys]);
            }
        }

        root.Element("os")?.Elements("boot").Remove();
        devices?.Elements().Elements("boot").Remove();
        var order = 1;
        foreach (var target in targets)
        {
            var disk = byTarget[target];
            var boot = new XElement("boot", new XAttribute("order", order++.ToString(CultureInfo.InvariantCulture)));
            // libvirt's schema: <boot> comes after <target>/<iotune>; placing it right after <target> is valid.
            var anchor = disk.Element("iotune") ?? disk.Element("target");
            if (anchor is null)
            {
                disk.Add(boot);
            }
            else
            {
                anchor.AddAfterSelf(boot);
            }
        }

        return copy;
    }

    /// <summary>The disk targets in boot order as the definition says (per-device boot order), for read-back.</summary>
    public static IReadOnlyList<string> Read(XDocument domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.Root?.Element("devices")?.Elements("disk")
            .Select(d => ((string?)d.Element("target")?.Attribute("dev"), (int?)d.Element("boot")?.Attribute("order")))
            .Where(t => t.Item1 is not null && t.Item2 is not null)
            .OrderBy(t => t.Item2)
            .Select(t => t.Item1!)
            .ToList() ?? [];
    }
}
