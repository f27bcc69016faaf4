using System.Xml.Linq;
using KubeStack.Contracts.Formats;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>What kind of snapshot a createSnapshot request makes.</summary>
public enum SnapshotMode
{
    /// <summary>Disk-only external snapshot: every snapshotted disk gets a new qcow2 overlay and the old file is frozen.</summary>
    External,

    /// <summary>Internal snapshot inside the qcow2 files (with the memory state when the VM runs).</summary>
    Internal,
}

/// <summary>One disk of an external snapshot: its target, the overlay made at the snapshot (the layer written after
/// it) and the frozen file holding the disk as it was at the snapshot (the overlay's backing file at creation).</summary>
public sealed record ExternalSnapshotDisk(string Target, string Overlay, string Frozen);

/// <summary>A snapshot's XML read back: name, state, parent, and the disks by kind.</summary>
public sealed record SnapshotDescription(string Name, string? State, string? Parent, IReadOnlyList<ExternalSnapshotDisk> ExternalDisks,
    IReadOnlyList<string> InternalDisks)
{
    public bool IsExternal => ExternalDisks.Count > 0;
}

/// <summary>
/// Pure builders and readers of libvirt XML for VM snapshots (golden-tested): the <c>&lt;domainsnapshot&gt;</c> a
/// createSnapshot request asks for, the snapshot XML read back, the destination <c>&lt;disk&gt;</c> of a shallow block
/// copy with its backing chain, and a domain definition with one disk moved to another file.
/// </summary>
public static class SnapshotXml
{
    /// <summary>
    /// The <c>&lt;domainsnapshot&gt;</c> for <paramref name="name"/>: one <c>&lt;disk&gt;</c> per diskspec (external with
    /// a qcow2 overlay at its <c>file</c> when given, else libvirt names it; internal; or no), plus
    /// <paramref name="excluded"/> targets listed with <c>snapshot='no'</c>. External snapshots say
    /// <c>&lt;memory snapshot='no'/&gt;</c> (disk-only).
    /// </summary>
    public static string BuildCreate(string name, SnapshotMode mode, IReadOnlyList<DiskSnapshotSpec> specs, IEnumerable<string>? excluded = null,
        string? description = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(specs);
        var disks = new XElement("disks");
        foreach (var spec in specs)
        {
            var kind = spec.Snapshot ?? (mode == SnapshotMode.External ? "external" : "internal");
            var disk = new XElement("disk", new XAttribute("name", spec.Target), new XAttribute("snapshot", kind));
            if (kind == "external")
            {
                disk.Add(new XElement("driver", new XAttribute("type", spec.Driver ?? "qcow2")));
                if (spec.File is not null)
                {
                    disk.Add(new XElement("source", new XAttribute("file", spec.File)));
                }
            }

            disks.Add(disk);
        }

        foreach (var target in excluded ?? [])
        {
            if (specs.All(s => s.Target != target))
            {
                disks.Add(new XElement("disk", new XAttribute("name", target), new XAttribute("snapshot", "no")));
            }
        }

        return new XElement("domainsnapshot",
            new XElement("name", name),
            description is null ? null : new XElement("description", description),
            mode == SnapshotMode.External ? new XElement("memory", new XAttribute("snapshot", "no")) : null,
            disks).ToString();
    }

    /// <summary>Reads a snapshot's XML (<c>virDomainSnapshotGetXMLDesc</c>): for each external disk the overlay
    /// (<c>disks/disk/source/@file</c>) and the frozen file (the embedded domain's source of that target).</summary>
    public static SnapshotDescription Read(string snapshotXml)
    {
        var root = XElement.Parse(snapshotXml);
        var sources = (root.Element("domain")?.Element("devices")?.Elements("disk") ?? [])
            .Select(d => (Target: (string?)d.Element("target")?.Attribute("dev"), File: (string?)d.Element("source")?.Attribute("file")))
            .Where(d => d.Target is not null)
            .GroupBy(d => d.Target!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().File, StringComparer.Ordinal);
        var external = new List<ExternalSnapshotDisk>();
        var internalDisks = new List<string>();
        foreach (var disk in root.Element("disks")?.Elements("disk") ?? [])
        {
            var target = (string?)disk.Attribute("name") ?? string.Empty;
            switch ((string?)disk.Attribute("snapshot"))
            {
                case "external":
                    var overlay = (string?)disk.Element("source")?.Attribute("file");
                    if (overlay is not null && sources.GetValueOrDefault(target) is { } frozen)
                    {
                        external.Add(new ExternalSnapshotDisk(target, overlay, frozen));
                    }

                    break;
                case "internal":
                    internalDisks.Add(target);
                    break;
            }
        }

        return new SnapshotDescription((string?)root.Element("name") ?? string.Empty, (string?)root.Element("state"),
            (string?)root.Element("parent")?.Element("name"), external, internalDisks);
    }

    /// <summary>The destination of a shallow block copy onto an existing qcow2 file <paramref name="path"/> whose backing
    /// chain (nearest first) is <paramref name="backingChain"/>, so libvirt opens the chain under these names.</summary>
    public static string BuildCopyDestination(string path, IReadOnlyList<(string Path, string Format)> backingChain)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(backingChain);
        XElement? tail = null;
        for (var i = backingChain.Count - 1; i >= 0; i--)
        {
            tail = new XElement("backingStore", new XAttribute("type", "file"),
                new XElement("format", new XAttribute("type", backingChain[i].Format)),
                new XElement("source", new XAttribute("file", backingChain[i].Path)),
                tail);
        }

        return new XElement("disk", new XAttribute("type", "file"),
            new XElement("driver", new XAttribute("type", "qcow2")),
            new XElement("source", new XAttribute("file", path)),
            tail).ToString();
    }

    /// <summary>The domain definition with disk <paramref name="target"/> on the file <paramref name="path"/> (qcow2) and
    /// its <c>&lt;backingStore&gt;</c> dropped (libvirt reads the chain from the image). Throws when there is no such disk.</summary>
    public static string MoveDisk(string domainXml, string target, string path)
    {
        var root = XElement.Parse(domainXml);
        var disk = (root.Element("devices")?.Elements("disk") ?? []).FirstOrDefault(d => (string?)d.Element("target")?.Attribute("dev") == target)
            ?? throw new InvalidOperationException($"The domain has no disk {target}.");
        disk.SetAttributeValue("type", "file");
        disk.Elements("backingStore").Remove();
        disk.Element("source")?.Remove();
        var driver = disk.Element("driver");
        driver?.SetAttributeValue("type", "qcow2");
        var source = new XElement("source", new XAttribute("file", path));
        if (driver is not null)
        {
            driver.AddAfterSelf(source);
        }
        else
        {
            disk.AddFirst(source);
        }

        return root.ToString();
    }

    /// <summary>The writable disks of a domain XML (device disk, not read-only): target → source file (null when not a file).</summary>
    public static IReadOnlyList<(string Target, string? File)> WritableDisks(string domainXml) =>
        [.. (XElement.Parse(domainXml).Element("devices")?.Elements("disk") ?? [])
            .Where(d => ((string?)d.Attribute("device") ?? "disk") == "disk" && d.Element("readonly") is null)
            .Select(d => (Target: (string?)d.Element("target")?.Attribute("dev") ?? string.Empty, File: (string?)d.Element("source")?.Attribute("file")))
            .Where(d => d.Target.Length > 0)];

    /// <summary>The chain libvirt reports for disk <paramref name="target"/> in a (live) domain XML: the source file, then each backingStore's file.</summary>
    public static IReadOnlyList<string> Chain(string domainXml, string target)
    {
        var disk = (XElement.Parse(domainXml).Element("devices")?.Elements("disk") ?? [])
            .FirstOrDefault(d => (string?)d.Element("target")?.Attribute("dev") == target);
        if (disk is null)
        {
            return [];
        }

        var chain = new List<string>();
        for (XElement? e = disk; e is not null; e = e.Element("backingStore"))
        {
            if ((string?)e.Element("source")?.Attribute("file") is { } file)
            {
                chain.Add(file);
            }
        }

        return chain;
    }

    /// <summary>Whether the (live) domain XML has a connected QEMU guest agent channel (then snapshots can quiesce).</summary>
    public static bool HasConnectedGuestAgent(string domainXml) =>
        (XElement.Parse(domainXml).Element("devices")?.Elements("channel") ?? [])
            .Select(c => c.Element("target"))
            .Any(t => (string?)t?.Attribute("name") == "org.qemu.guest_agent.0" && (string?)t?.Attribute("state") == "connected");
}
