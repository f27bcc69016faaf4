using System.Xml.Linq;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>A file-backed disk of a domain (CD-ROMs excluded).</summary>
public sealed record VmDisk(string Target, string Path);

internal static class VmDisks
{
    /// <summary>The file disks (device=disk) of the domain's persistent definition.</summary>
    public static IReadOnlyList<VmDisk> Of(LibvirtDomain domain)
    {
        var xml = XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive));
        return xml.Root?.Element("devices")?.Elements("disk")
            .Where(d => (string?)d.Attribute("device") is null or "disk")
            .Select(d => ((string?)d.Element("target")?.Attribute("dev"), (string?)d.Element("source")?.Attribute("file")))
            .Where(t => t.Item1 is not null && t.Item2 is not null)
            .Select(t => new VmDisk(t.Item1!, t.Item2!))
            .ToList() ?? [];
    }

    /// <summary>Deletes a disk file: through libvirt when a pool owns it (the pool stays consistent), else from the file system.</summary>
    public static void Delete(LibvirtConnection connection, string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            using var volume = connection.LookupStorageVolByPath(path);
            volume.Delete(StorageVolDeleteFlags.Normal);
            return;
        }
        catch (LibvirtException ex) when (ex.IsNoStorageVol || ex.IsNotFound)
        {
        }

        File.Delete(path);
    }
}
