using System.Xml;
using System.Xml.Linq;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// The device XML files of plugDevice/unplugDevice: a path under the allowed roots (SafePath), at most 64 KiB, one
/// device element libvirt attaches (<c>&lt;disk&gt;</c>, <c>&lt;interface&gt;</c>, <c>&lt;hostdev&gt;</c>...). A device is
/// recognised in the domain XML by its identity: a disk by its target, a NIC by its MAC, a host device by its source
/// address, anything else by being equal to an element of the same name (after libvirt's additions are ignored:
/// the file's attributes and children must all be present).
/// </summary>
internal static class VmDeviceFiles
{
    public const int MaxBytes = 64 * 1024;

    private static readonly string[] DeviceElements =
    [
        "disk", "interface", "hostdev", "redirdev", "controller", "input", "sound", "video", "watchdog", "rng", "filesystem",
        "channel", "serial", "console", "parallel", "tpm", "smartcard", "hub", "shmem", "memory", "vsock", "lease", "graphics",
    ];

    public static XElement Read(RequestContext ctx)
    {
        var text = StorageParameters.Required(ctx.Parameters, "file", ctx.Key);
        string path;
        try
        {
            path = SafePath.Resolve(text);
        }
        catch (UnsafePathException ex)
        {
            throw new RequestParameterException("file", $"{ctx.Key}.file: {ex.Message}");
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new RequestParameterException("file", $"{ctx.Key}.file {path} does not exist on node {ctx.NodeName}; write the device XML there first.");
        }

        if (info.Length > MaxBytes)
        {
            throw new RequestParameterException("file", $"{ctx.Key}.file {path} has {info.Length} bytes; a device XML file may have at most {MaxBytes}.");
        }

        XElement device;
        try
        {
            device = XElement.Parse(File.ReadAllText(path));
        }
        catch (XmlException ex)
        {
            throw new RequestParameterException("file", $"{ctx.Key}.file {path} is not well-formed XML: {ex.Message}");
        }

        if (!DeviceElements.Contains(device.Name.LocalName, StringComparer.Ordinal) || device.Name.Namespace != XNamespace.None)
        {
            throw new RequestParameterException("file",
                $"{ctx.Key}.file {path} must hold one device element ({string.Join(", ", DeviceElements.Select(e => $"<{e}>"))}), not <{device.Name.LocalName}>.");
        }

        return device;
    }

    /// <summary>A short description for messages: "&lt;disk&gt; vdb", "&lt;interface&gt; 52:54:00:..".</summary>
    public static string Describe(XElement device) => Identity(device) is { } id ? $"<{device.Name.LocalName}> {id}" : $"<{device.Name.LocalName}>";

    /// <summary>The element of <paramref name="domain"/> that is <paramref name="device"/>, or null.</summary>
    public static XElement? Find(XDocument domain, XElement device)
    {
        var candidates = domain.Root?.Element("devices")?.Elements(device.Name.LocalName) ?? [];
        var id = Identity(device);
        return id is not null
            ? candidates.FirstOrDefault(c => Identity(c) == id)
            : candidates.FirstOrDefault(c => Covers(c, device));
    }

    private static string? Identity(XElement device) => device.Name.LocalName switch
    {
        "disk" => (string?)device.Element("target")?.Attribute("dev"),
        "interface" => ((string?)device.Element("mac")?.Attribute("address"))?.ToLowerInvariant(),
        "hostdev" => device.Element("source")?.Element("address") is { } a
            ? string.Join(",", a.Attributes().OrderBy(x => x.Name.LocalName, StringComparer.Ordinal).Select(x => $"{x.Name.LocalName}={Normalise(x.Value)}"))
            : device.Element("source")?.ToString(SaveOptions.DisableFormatting),
        _ => null,
    };

    /// <summary>0x01 and 1 are the same number in libvirt addresses.</summary>
    private static string Normalise(string value) =>
        value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && int.TryParse(value.AsSpan(2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var h)
            ? h.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : value;

    /// <summary>True when <paramref name="actual"/> has every attribute and (recursively) child of <paramref name="wanted"/>.</summary>
    private static bool Covers(XElement actual, XElement wanted) =>
        wanted.Attributes().All(a => (string?)actual.Attribute(a.Name) == a.Value)
        && wanted.Elements().All(w => actual.Elements(w.Name).Any(c => Covers(c, w)));
}
