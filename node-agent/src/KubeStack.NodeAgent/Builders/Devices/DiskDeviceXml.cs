using System.Globalization;
using System.Xml.Linq;

namespace KubeStack.NodeAgent.Builders.Devices;

/// <summary>Per-disk I/O limits (libvirt <c>&lt;iotune&gt;</c>); null members are left out.</summary>
public sealed record DiskIoTune(
    long? TotalBytesSec = null, long? ReadBytesSec = null, long? WriteBytesSec = null,
    long? TotalIopsSec = null, long? ReadIopsSec = null, long? WriteIopsSec = null)
{
    public bool IsEmpty => TotalBytesSec is null && ReadBytesSec is null && WriteBytesSec is null
                           && TotalIopsSec is null && ReadIopsSec is null && WriteIopsSec is null;
}

/// <summary>
/// A disk to attach (plugDisk): the seed's parameters after validation. <see cref="SourceType"/> file or block;
/// <see cref="Device"/> disk, lun, cdrom or floppy; <see cref="Mode"/> readonly or shareable.
/// </summary>
public sealed record DiskDeviceSpec(
    string Source,
    string Target,
    string Bus = "virtio",
    string Device = "disk",
    string SourceType = "file",
    string DriverType = "qcow2",
    string? Cache = null,
    string? Sgio = null,
    string? Mode = null,
    DiskIoTune? IoTune = null);

/// <summary>Pure builder of a <c>&lt;disk&gt;</c> device element (no I/O): the same spec gives the same XML.</summary>
public static class DiskDeviceXml
{
    public static XElement Build(DiskDeviceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var block = spec.SourceType == "block";
        var driver = new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", spec.DriverType));
        if (spec.Cache is not null)
        {
            driver.Add(new XAttribute("cache", spec.Cache));
        }

        var disk = new XElement("disk",
            new XAttribute("type", block ? "block" : "file"),
            new XAttribute("device", spec.Device));
        if (spec.Device == "lun" && spec.Sgio is not null)
        {
            disk.Add(new XAttribute("sgio", spec.Sgio));
        }

        disk.Add(
            driver,
            new XElement("source", new XAttribute(block ? "dev" : "file", spec.Source)),
            new XElement("target", new XAttribute("dev", spec.Target), new XAttribute("bus", spec.Bus)));
        if (spec.IoTune is { IsEmpty: false } io)
        {
            var iotune = new XElement("iotune");
            void Add(string name, long? value)
            {
                if (value is { } v)
                {
                    iotune.Add(new XElement(name, v.ToString(CultureInfo.InvariantCulture)));
                }
            }

            Add("total_bytes_sec", io.TotalBytesSec);
            Add("read_bytes_sec", io.ReadBytesSec);
            Add("write_bytes_sec", io.WriteBytesSec);
            Add("total_iops_sec", io.TotalIopsSec);
            Add("read_iops_sec", io.ReadIopsSec);
            Add("write_iops_sec", io.WriteIopsSec);
            disk.Add(iotune);
        }

        if (spec.Mode == "readonly" || spec.Device == "cdrom")
        {
            disk.Add(new XElement("readonly"));
        }
        else if (spec.Mode == "shareable")
        {
            disk.Add(new XElement("shareable"));
        }

        return disk;
    }

    /// <summary>The device XML as libvirt takes it (virDomainAttachDeviceFlags).</summary>
    public static string BuildString(DiskDeviceSpec spec) => Build(spec).ToString();
}
