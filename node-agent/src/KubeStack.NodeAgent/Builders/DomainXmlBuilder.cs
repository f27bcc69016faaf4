using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using KubeStack.Contracts.Formats;

namespace KubeStack.NodeAgent.Builders;

/// <summary>What the node contributes to every domain it defines (node configuration, never guessed from the host).</summary>
/// <param name="DomainType">libvirt domain type: <c>kvm</c> in production, <c>qemu</c> (TCG) in the lab.</param>
/// <param name="Emulator">QEMU binary, e.g. <c>/usr/bin/qemu-system-x86_64</c>.</param>
/// <param name="Machine">Machine type, e.g. <c>pc</c> or <c>q35</c> (q35 puts CD-ROMs on SATA, pc on IDE).</param>
/// <param name="SerialLogDirectory">When set, the serial console is also logged to <c>DIR/NAME-serial.log</c> (virtlogd).</param>
public sealed record NodeDomainSettings(
    string DomainType,
    string Emulator,
    string Machine,
    string Arch = "x86_64",
    string? SerialLogDirectory = null);

/// <summary>A NIC as planned: its MAC and, for l3bridge, the OVS <c>iface-id</c> the OVN logical port must carry.</summary>
public sealed record PlannedNic(int Index, NicType Type, string Bridge, string Mac, string? InterfaceId, string? Ip, string? Switch);

/// <summary>A disk as planned: target and bus after defaults.</summary>
public sealed record PlannedDisk(string Path, DiskDevice Device, string Target, string Bus, string Format);

/// <summary>
/// The built domain. <see cref="ToString"/> and <see cref="RedactedXml"/> never contain the graphics password; only
/// <see cref="Xml"/> (given to libvirt) does.
/// </summary>
public sealed record DomainBuildResult(
    string Name,
    Guid Uuid,
    string DomainType,
    XDocument Document,
    IReadOnlyList<PlannedDisk> Disks,
    IReadOnlyList<PlannedNic> Nics)
{
    /// <summary>The domain XML for <c>virDomainDefineXML</c> (contains the graphics password).</summary>
    public string Xml => DomainXmlBuilder.Format(Document);

    /// <summary>The domain XML with every <c>passwd</c> attribute replaced by <c>***</c>, for logs and diagnostics.</summary>
    public string RedactedXml => DomainXmlBuilder.Format(DomainXmlBuilder.Redact(Document));

    public override string ToString() => $"DomainBuildResult {{ Name = {Name}, Uuid = {Uuid}, Type = {DomainType}, Disks = {Disks.Count}, Nics = {Nics.Count} }}";
}

/// <summary>
/// Pure builder: createAndStartVMFromISO / createAndStartVMFromImage parameters + node settings → libvirt domain XML
/// (built with <see cref="XDocument"/>). Deterministic: the same input gives the same XML (UUID, MACs and OVN
/// interface ids are derived, never random), so a retried request defines the same domain.
/// </summary>
public static class DomainXmlBuilder
{
    /// <summary>Namespace of the KubeStack element under <c>&lt;metadata&gt;</c>.</summary>
    public static readonly XNamespace KubeStackNamespace = "https://doslab.io/kubestack/domain/1.0";

    public const string KubeStackPrefix = "kubestack";

    /// <summary>The virtio-serial channel the QEMU guest agent listens on (used by setGuestPassword, ...).</summary>
    public const string GuestAgentChannel = "org.qemu.guest_agent.0";

    /// <param name="name">Domain name (the resource name).</param>
    /// <param name="objectUid">The Kubernetes object's metadata.uid: the domain UUID when <c>metadata</c> gives none.</param>
    public static DomainBuildResult Build(string name, VmCreateParameters parameters, NodeDomainSettings node, Guid? objectUid = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(node);
        var errors = new List<string>();

        var domainType = DomainType(parameters, node, errors);
        var uuid = parameters.Metadata switch
        {
            { ParsedUuid: { } parsed } => parsed,
            { } metadata => NameBasedUuid("metadata:" + metadata.Uuid),
            null => objectUid ?? NameBasedUuid("name:" + name),
        };
        var disks = PlanDisks(parameters, node, errors);
        var nics = PlanNics(parameters, uuid);
        CheckCpuTune(parameters, errors);
        if (parameters.LiveCd && !disks.Any(d => d.Device == DiskDevice.Cdrom))
        {
            errors.Add("livecd=true needs a CD-ROM (a disk with device=cdrom or the cdrom parameter).");
        }
        var boot = BootOrder(parameters, disks, errors);
        if (parameters.RedirDev is { Type: "spicevmc" } && parameters.Graphics.Type != GraphicsType.Spice)
        {
            errors.Add("redirdev type=spicevmc needs spice graphics (the USB traffic goes through the SPICE channel).");
        }
        if (errors.Count > 0)
        {
            throw new DomainBuildException(errors);
        }

        var domain = new XElement("domain",
            new XAttribute("type", domainType),
            new XElement("name", name),
            new XElement("uuid", uuid.ToString("D")),
            Metadata(parameters),
            new XElement("memory", new XAttribute("unit", "MiB"), parameters.MemoryMiB),
            new XElement("currentMemory", new XAttribute("unit", "MiB"), parameters.MemoryMiB),
            Vcpu(parameters.Vcpus),
            CpuTune(parameters.CpuTune),
            new XElement("os",
                new XElement("type", new XAttribute("arch", node.Arch), new XAttribute("machine", node.Machine), "hvm"),
                boot.Select(b => new XElement("boot", new XAttribute("dev", b == BootDevice.Hd ? "hd" : "cdrom")))),
            new XElement("features", new XElement("acpi"), new XElement("apic")),
            Cpu(parameters.Vcpus),
            new XElement("clock", new XAttribute("offset", "utc")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            Devices(name, parameters, node, disks, nics));

        var document = new XDocument(domain);
        return new DomainBuildResult(name, uuid, domainType, document, disks, nics);
    }

    /// <summary>Formats XML the way the golden files store it: two-space indent, no declaration, '\n' line ends.</summary>
    public static string Format(XDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var settings = new XmlWriterSettings
        {
            OmitXmlDeclaration = true,
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            NewLineHandling = NewLineHandling.Replace,
        };
        var builder = new StringBuilder();
        using (var writer = XmlWriter.Create(builder, settings))
        {
            document.Root!.WriteTo(writer);
        }
        return builder.Append('\n').ToString();
    }

    /// <summary>A copy of <paramref name="document"/> with every <c>passwd</c> attribute replaced by <c>***</c>.</summary>
    public static XDocument Redact(XDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var copy = new XDocument(document);
        foreach (var attribute in copy.Descendants().Attributes("passwd"))
        {
            attribute.Value = "***";
        }
        return copy;
    }

    private static string DomainType(VmCreateParameters parameters, NodeDomainSettings node, List<string> errors)
    {
        if (node.DomainType is not ("kvm" or "qemu"))
        {
            errors.Add($"The node's domain type '{node.DomainType}' is not supported; configure kvm or qemu.");
        }
        switch (parameters.VirtType)
        {
            case null:
                return node.DomainType;
            case "kvm":
                return "kvm";
            default:
                errors.Add($"virt_type={parameters.VirtType} is not supported on this node; it runs QEMU/KVM guests only (use kvm or leave virt_type out).");
                return node.DomainType;
        }
    }

    private static List<PlannedDisk> PlanDisks(VmCreateParameters parameters, NodeDomainSettings node, List<string> errors)
    {
        var specs = parameters.Disks.ToList();
        if (parameters.Cdrom is { } iso && !specs.Any(d => d.Device == DiskDevice.Cdrom && d.Path == iso))
        {
            specs.Add(new DiskSpec(iso, DiskDevice.Cdrom, null, null, null, true, false, null, null, null, null, null, null, null, null));
        }
        if (!specs.Any(d => d.Device == DiskDevice.Disk) && parameters.Kind == VmCreateKind.FromImage)
        {
            errors.Add("createAndStartVMFromImage needs a system disk (a disk entry that is not a CD-ROM).");
        }

        var cdromBus = node.Machine.Contains("q35", StringComparison.Ordinal) ? "sata" : "ide";
        var used = new HashSet<string>(specs.Where(d => d.Target is not null).Select(d => d.Target!), StringComparer.Ordinal);
        var planned = new List<PlannedDisk>();
        foreach (var spec in specs)
        {
            var bus = spec.Bus ?? (spec.Target is not null ? DiskTargets.DefaultBus(spec.Target) : spec.Device == DiskDevice.Cdrom ? cdromBus : "virtio");
            if (spec.Target is null && spec.Bus is null && spec.Device == DiskDevice.Cdrom)
            {
                bus = cdromBus;
            }
            var target = spec.Target ?? NextFree(DiskTargets.PrefixFor(bus), used);
            if (target is null)
            {
                errors.Add($"No free {DiskTargets.PrefixFor(bus)}X target is left for '{spec.Path}'.");
                continue;
            }
            used.Add(target);
            if (bus == "ide" && target[2] > 'd')
            {
                errors.Add($"The IDE bus has four units (hda-hdd); '{spec.Path}' cannot use {target}.");
            }
            if (bus == "ide" && node.Machine.Contains("q35", StringComparison.Ordinal))
            {
                errors.Add($"The machine type {node.Machine} has no IDE bus; put '{spec.Path}' on sata (sdX) or virtio (vdX).");
            }
            var format = spec.Format ?? DefaultFormat(spec);
            planned.Add(new PlannedDisk(spec.Path, spec.Device, target, bus, format));
        }
        return planned;
    }

    private static string DefaultFormat(DiskSpec spec)
    {
        if (spec.Device == DiskDevice.Cdrom)
        {
            return "raw";
        }
        var extension = Path.GetExtension(spec.Path);
        return extension is ".raw" or ".img" or ".iso" ? "raw" : "qcow2";
    }

    private static string? NextFree(string prefix, HashSet<string> used)
    {
        for (var c = 'a'; c <= 'z'; c++)
        {
            var candidate = prefix + c;
            if (!used.Contains(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static List<PlannedNic> PlanNics(VmCreateParameters parameters, Guid uuid)
    {
        var nics = new List<PlannedNic>();
        for (var i = 0; i < parameters.Nics.Count; i++)
        {
            var spec = parameters.Nics[i];
            var mac = spec.Mac ?? DerivedMac(uuid, i);
            var interfaceId = spec.Type == NicType.L3Bridge ? NameBasedUuid($"nic:{uuid:D}:{i}").ToString("D") : null;
            nics.Add(new PlannedNic(i, spec.Type, spec.Source, mac, interfaceId, spec.Ip, spec.Switch));
        }
        return nics;
    }

    private static void CheckCpuTune(VmCreateParameters parameters, List<string> errors)
    {
        if (parameters.CpuTune is null)
        {
            return;
        }
        foreach (var pin in parameters.CpuTune.VcpuPins.Where(p => p.Vcpu >= parameters.Vcpus.Maximum))
        {
            errors.Add($"cputune pins vCPU {pin.Vcpu}, but the VM has vCPUs 0 to {parameters.Vcpus.Maximum - 1}.");
        }
    }

    private static List<BootDevice> BootOrder(VmCreateParameters parameters, List<PlannedDisk> disks, List<string> errors)
    {
        var hasCdrom = disks.Any(d => d.Device == DiskDevice.Cdrom);
        var hasDisk = disks.Any(d => d.Device == DiskDevice.Disk);
        List<BootDevice> order;
        if (parameters.Boot is { } requested)
        {
            order = requested.ToList();
        }
        else if (parameters.LiveCd)
        {
            order = [BootDevice.Cdrom];
        }
        else if (parameters.Kind == VmCreateKind.FromIso && hasCdrom)
        {
            // Install from the CD, then boot the installed disk once the CD is ejected or empty.
            order = hasDisk ? [BootDevice.Cdrom, BootDevice.Hd] : [BootDevice.Cdrom];
        }
        else
        {
            order = [BootDevice.Hd];
        }
        if (order.Contains(BootDevice.Cdrom) && !hasCdrom)
        {
            errors.Add("boot=cdrom needs a CD-ROM (a disk with device=cdrom or the cdrom parameter).");
        }
        if (parameters.Kind == VmCreateKind.FromIso && !hasCdrom)
        {
            errors.Add("createAndStartVMFromISO needs the installation CD (a disk with device=cdrom or the cdrom parameter).");
        }
        if (order.Contains(BootDevice.Hd) && !hasDisk)
        {
            errors.Add("boot=hd needs a hard disk (a disk entry that is not a CD-ROM).");
        }
        return order;
    }

    private static XElement Metadata(VmCreateParameters parameters) =>
        new("metadata",
            new XElement(KubeStackNamespace + "instance",
                new XAttribute(XNamespace.Xmlns + KubeStackPrefix, KubeStackNamespace.NamespaceName),
                new XElement(KubeStackNamespace + "operation", VmCreateParameters.OperationKey(parameters.Kind)),
                new XElement(KubeStackNamespace + "osVariant", parameters.OsVariant),
                parameters.Metadata is null ? null : new XElement(KubeStackNamespace + "metadata", "uuid=" + parameters.Metadata.Uuid)));

    private static XElement Vcpu(VcpuSpec vcpus) =>
        new("vcpu",
            new XAttribute("placement", "static"),
            vcpus.CpuSet is null ? null : new XAttribute("cpuset", vcpus.CpuSet),
            vcpus.Current < vcpus.Maximum ? new XAttribute("current", vcpus.Current) : null,
            vcpus.Maximum);

    private static XElement? CpuTune(CpuTuneSpec? tune)
    {
        if (tune is null)
        {
            return null;
        }
        return new XElement("cputune",
            tune.Shares is null ? null : new XElement("shares", tune.Shares),
            tune.Period is null ? null : new XElement("period", tune.Period),
            tune.Quota is null ? null : new XElement("quota", tune.Quota),
            tune.EmulatorPeriod is null ? null : new XElement("emulator_period", tune.EmulatorPeriod),
            tune.EmulatorQuota is null ? null : new XElement("emulator_quota", tune.EmulatorQuota),
            tune.VcpuPins.Select(p => new XElement("vcpupin", new XAttribute("vcpu", p.Vcpu), new XAttribute("cpuset", p.CpuSet))),
            tune.EmulatorPinCpuSet is null ? null : new XElement("emulatorpin", new XAttribute("cpuset", tune.EmulatorPinCpuSet)));
    }

    private static XElement? Cpu(VcpuSpec vcpus) =>
        vcpus.Topology is not { } topology
            ? null
            : new XElement("cpu",
                new XElement("topology",
                    new XAttribute("sockets", topology.Sockets),
                    new XAttribute("dies", 1),
                    new XAttribute("cores", topology.Cores),
                    new XAttribute("threads", topology.Threads)));

    private static XElement Devices(
        string name, VmCreateParameters parameters, NodeDomainSettings node, List<PlannedDisk> disks, List<PlannedNic> nics)
    {
        var diskSpecs = parameters.Disks.ToDictionary(d => d.Path, StringComparer.Ordinal);
        var devices = new XElement("devices", new XElement("emulator", node.Emulator));
        foreach (var disk in disks)
        {
            diskSpecs.TryGetValue(disk.Path, out var spec);
            devices.Add(Disk(disk, spec));
        }
        for (var i = 0; i < nics.Count; i++)
        {
            devices.Add(Interface(nics[i], parameters.Nics[i]));
        }

        var serial = new XElement("serial", new XAttribute("type", "pty"));
        if (node.SerialLogDirectory is { } logDirectory)
        {
            serial.Add(new XElement("log",
                new XAttribute("file", logDirectory.TrimEnd('/') + "/" + name + "-serial.log"),
                new XAttribute("append", "off")));
        }
        serial.Add(new XElement("target", new XAttribute("port", 0)));
        devices.Add(serial);
        devices.Add(new XElement("console", new XAttribute("type", "pty"),
            new XElement("target", new XAttribute("type", "serial"), new XAttribute("port", 0))));
        devices.Add(new XElement("channel", new XAttribute("type", "unix"),
            new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", GuestAgentChannel))));
        // The USB tablet (absolute pointer: no mouse offset in VNC/SPICE) and USB redirection need a USB controller;
        // name it instead of relying on the machine type's default (the libvirt test driver has none).
        devices.Add(new XElement("controller", new XAttribute("type", "usb"), new XAttribute("index", 0), new XAttribute("model", "qemu-xhci")));
        if (parameters.RedirDev is { } redir)
        {
            devices.Add(RedirDev(redir));
        }
        devices.Add(new XElement("input", new XAttribute("type", "tablet"), new XAttribute("bus", "usb")));
        devices.Add(Graphics(parameters.Graphics));
        devices.Add(new XElement("video",
            new XElement("model", new XAttribute("type", parameters.Graphics.Type == GraphicsType.Spice ? "qxl" : "vga"))));
        devices.Add(new XElement("memballoon", new XAttribute("model", "virtio")));
        return devices;
    }

    private static XElement Disk(PlannedDisk disk, DiskSpec? spec)
    {
        var element = new XElement("disk",
            new XAttribute("type", "file"),
            new XAttribute("device", disk.Device == DiskDevice.Cdrom ? "cdrom" : "disk"),
            new XElement("driver",
                new XAttribute("name", "qemu"),
                new XAttribute("type", disk.Format),
                spec?.Cache is null ? null : new XAttribute("cache", spec.Cache)),
            new XElement("source", new XAttribute("file", disk.Path)),
            new XElement("target", new XAttribute("dev", disk.Target), new XAttribute("bus", disk.Bus)));
        if (spec is not null && spec.HasIoTune)
        {
            element.Add(new XElement("iotune",
                Optional("total_bytes_sec", spec.TotalBytesSec),
                Optional("read_bytes_sec", spec.ReadBytesSec),
                Optional("write_bytes_sec", spec.WriteBytesSec),
                Optional("total_iops_sec", spec.TotalIopsSec),
                Optional("read_iops_sec", spec.ReadIopsSec),
                Optional("write_iops_sec", spec.WriteIopsSec)));
        }
        if (disk.Device == DiskDevice.Cdrom || spec?.ReadOnly == true)
        {
            element.Add(new XElement("readonly"));
        }
        if (spec?.Shareable == true)
        {
            element.Add(new XElement("shareable"));
        }
        return element;
    }

    private static XElement? Optional(string name, long? value) => value is null ? null : new XElement(name, value);

    private static XElement Interface(PlannedNic nic, NicSpec spec)
    {
        var element = new XElement("interface",
            new XAttribute("type", "bridge"),
            new XElement("mac", new XAttribute("address", nic.Mac)),
            new XElement("source", new XAttribute("bridge", nic.Bridge)));
        if (nic.Type != NicType.Bridge)
        {
            element.Add(new XElement("virtualport",
                new XAttribute("type", "openvswitch"),
                nic.InterfaceId is null ? null : new XElement("parameters", new XAttribute("interfaceid", nic.InterfaceId))));
        }
        if (spec.InboundKiB is not null || spec.OutboundKiB is not null)
        {
            element.Add(new XElement("bandwidth",
                spec.InboundKiB is null ? null : new XElement("inbound", new XAttribute("average", spec.InboundKiB)),
                spec.OutboundKiB is null ? null : new XElement("outbound", new XAttribute("average", spec.OutboundKiB))));
        }
        element.Add(new XElement("model", new XAttribute("type", spec.Model ?? "virtio")));
        return element;
    }

    private static XElement RedirDev(RedirDevSpec redir)
    {
        var element = new XElement("redirdev", new XAttribute("bus", redir.Bus), new XAttribute("type", redir.Type));
        if (redir.Type == "tcp")
        {
            element.Add(new XElement("source",
                new XAttribute("mode", "connect"),
                new XAttribute("host", redir.Host!),
                new XAttribute("service", redir.Port!.Value)));
        }
        return element;
    }

    private static XElement Graphics(GraphicsSpec graphics) =>
        new("graphics",
            new XAttribute("type", graphics.TypeName),
            new XAttribute("autoport", "yes"),
            new XAttribute("listen", graphics.Listen),
            graphics.Password is null ? null : new XAttribute("passwd", graphics.Password),
            new XElement("listen", new XAttribute("type", "address"), new XAttribute("address", graphics.Listen)));

    /// <summary>A stable, locally administered-style QEMU MAC (52:54:00:xx:xx:xx) derived from the domain UUID and NIC index.</summary>
    private static string DerivedMac(Guid uuid, int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"mac:{uuid:D}:{index}"));
        return string.Create(CultureInfo.InvariantCulture, $"52:54:00:{hash[0]:x2}:{hash[1]:x2}:{hash[2]:x2}");
    }

    /// <summary>A name-based (RFC 4122 version 5 style, SHA-1) UUID in a KubeStack namespace: stable for the same input.</summary>
    internal static Guid NameBasedUuid(string value)
    {
        var namespaceBytes = Guid.Parse("6f5d7a0e-3c1b-5b8e-9a57-6b7562657374").ToByteArray(bigEndian: true);
        var nameBytes = Encoding.UTF8.GetBytes(value);
#pragma warning disable CA5350 // SHA-1 is what RFC 4122 version 5 specifies; this is an identifier, not a security use.
        var hash = SHA1.HashData([.. namespaceBytes, .. nameBytes]);
#pragma warning restore CA5350
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
