using System.Xml.Linq;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>
/// updateGraphic's change of the console: <see cref="Type"/> vnc or spice; <see cref="Password"/> a new password,
/// or <see cref="RemovePassword"/> to drop it; neither keeps the password the console has.
/// </summary>
public sealed record GraphicsChange(string Type, string? Password = null, bool RemovePassword = false);

/// <summary>
/// Pure edits of <c>&lt;graphics&gt;</c> devices (no I/O). The inputs may carry passwords (XML read with
/// VIR_DOMAIN_XML_SECURE): the outputs are for libvirt only and are never logged or returned.
/// </summary>
public static class GraphicsXml
{
    /// <summary>
    /// The same graphics device with <c>passwd</c> set to <paramref name="password"/> or removed (null), for
    /// virDomainUpdateDeviceFlags: everything else (type, port, autoport, listen) stays as the domain has it, since
    /// libvirt refuses a live update that changes them. <c>passwdValidTo</c> goes with the old password.
    /// </summary>
    public static XElement WithPassword(XElement graphics, string? password)
    {
        ArgumentNullException.ThrowIfNull(graphics);
        var copy = new XElement(graphics);
        copy.Attribute("passwdValidTo")?.Remove();
        copy.Attribute("connected")?.Remove();
        copy.SetAttributeValue("passwd", password);
        return copy;
    }

    /// <summary>The first graphics device of <paramref name="type"/> (vnc, spice) in a domain, or null.</summary>
    public static XElement? Find(XDocument domain, string type)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.Root?.Element("devices")?.Elements("graphics").FirstOrDefault(g => (string?)g.Attribute("type") == type);
    }

    /// <summary>
    /// A copy of the domain whose graphics devices are replaced by one console of <see cref="GraphicsChange.Type"/>
    /// (autoport), listening where the old console listened (libvirt's default when it had none), with the password the
    /// change asks for (kept from the old console when it asks for none).
    /// </summary>
    public static XDocument Replace(XDocument domain, GraphicsChange change)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(change);
        var copy = new XDocument(domain);
        var devices = copy.Root?.Element("devices") ?? throw new ArgumentException("The domain XML has no <devices>.", nameof(domain));
        var old = devices.Elements("graphics").ToList();
        var first = old.FirstOrDefault();
        var listen = first is null ? null : (string?)first.Attribute("listen")
            ?? (string?)first.Elements("listen").FirstOrDefault(l => (string?)l.Attribute("type") == "address")?.Attribute("address");
        var password = change.Password ?? (change.RemovePassword ? null : (string?)first?.Attribute("passwd"));
        var graphics = new XElement("graphics",
            new XAttribute("type", change.Type),
            new XAttribute("autoport", "yes"),
            listen is null ? null : new XAttribute("listen", listen),
            password is null ? null : new XAttribute("passwd", password),
            listen is null ? null : new XElement("listen", new XAttribute("type", "address"), new XAttribute("address", listen)));
        if (first is null)
        {
            devices.Add(graphics);
        }
        else
        {
            first.AddBeforeSelf(graphics);
            old.Remove();
        }

        return copy;
    }
}
