using System.Xml.Linq;

namespace KubeStack.HostIntegration.Tests.Infrastructure;

/// <summary>Domain and storage XML for the lab guest (kernel + busybox initramfs, TCG: nested KVM hangs here).</summary>
public static class LabGuest
{
    public static string DirPoolXml(string name, string targetPath) =>
        new XElement("pool", new XAttribute("type", "dir"),
            new XElement("name", name),
            new XElement("target", new XElement("path", targetPath))).ToString();

    public static string Qcow2VolumeXml(string name, long capacityBytes) =>
        new XElement("volume",
            new XElement("name", name),
            new XElement("capacity", new XAttribute("unit", "bytes"), capacityBytes),
            new XElement("target", new XElement("format", new XAttribute("type", "qcow2")))).ToString();

    /// <summary>A TCG guest booting the lab kernel and initramfs directly, with <paramref name="diskPath"/> as vda and
    /// the serial console logged to <paramref name="serialLog"/> (virtlogd writes it).</summary>
    public static string DomainXml(string name, string serialLog, string? diskPath, int memoryMiB = 256) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), memoryMiB),
            new XElement("currentMemory", new XAttribute("unit", "MiB"), memoryMiB),
            new XElement("vcpu", new XAttribute("placement", "static"), new XAttribute("current", 1), 2),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm"),
                new XElement("kernel", LabEnvironment.Kernel),
                new XElement("initrd", LabEnvironment.Initrd),
                new XElement("cmdline", "console=ttyS0 nokaslr no_timer_check quiet")),
            new XElement("features", new XElement("acpi")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            new XElement("devices",
                new XElement("emulator", "/usr/bin/qemu-system-x86_64"),
                diskPath is null ? null : new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
                    new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
                    new XElement("source", new XAttribute("file", diskPath)),
                    new XElement("target", new XAttribute("dev", "vda"), new XAttribute("bus", "virtio"))),
                new XElement("serial", new XAttribute("type", "pty"),
                    new XElement("log", new XAttribute("file", serialLog), new XAttribute("append", "off")),
                    new XElement("target", new XAttribute("port", 0))),
                new XElement("console", new XAttribute("type", "pty"),
                    new XElement("target", new XAttribute("type", "serial"), new XAttribute("port", 0))),
                new XElement("memballoon", new XAttribute("model", "virtio")))).ToString();

    /// <summary>A virtio disk device (for live attach/detach).</summary>
    public static string DiskDeviceXml(string path, string target) =>
        new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
            new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
            new XElement("source", new XAttribute("file", path)),
            new XElement("target", new XAttribute("dev", target), new XAttribute("bus", "virtio"))).ToString();

    /// <summary>A TCG guest with only the lab ISO as an IDE CD-ROM and <c>&lt;boot dev='cdrom'/&gt;</c> (isolinux boots
    /// the same kernel and initramfs with <c>lab_boot=iso</c>, so the serial log says <c>source=iso</c>).</summary>
    public static string IsoDomainXml(string name, string serialLog) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 256),
            new XElement("vcpu", 1),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm"),
                new XElement("boot", new XAttribute("dev", "cdrom"))),
            new XElement("features", new XElement("acpi")),
            new XElement("devices",
                new XElement("emulator", "/usr/bin/qemu-system-x86_64"),
                new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "cdrom"),
                    new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "raw")),
                    new XElement("source", new XAttribute("file", LabEnvironment.Iso)),
                    new XElement("target", new XAttribute("dev", "hdc"), new XAttribute("bus", "ide")),
                    new XElement("readonly")),
                new XElement("serial", new XAttribute("type", "pty"),
                    new XElement("log", new XAttribute("file", serialLog), new XAttribute("append", "off")),
                    new XElement("target", new XAttribute("port", 0))),
                new XElement("console", new XAttribute("type", "pty"),
                    new XElement("target", new XAttribute("type", "serial"), new XAttribute("port", 0))))).ToString();

    /// <summary>A per-test directory under the lab state dir (readable by QEMU, removed by the test's cleanup).</summary>
    public static string NewWorkDir(LibvirtCleanup cleanup, string name)
    {
        var dir = Path.Combine(LabEnvironment.StateDir, "tests", name);
        Directory.CreateDirectory(dir);
        return cleanup.PathToDelete(dir);
    }
}
