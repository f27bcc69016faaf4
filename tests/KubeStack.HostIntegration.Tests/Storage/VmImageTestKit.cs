using System.Xml.Linq;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// Whole-VM storage tests (VM images, clones, resizeVM): a <see cref="StorageTestKit"/> plus lab domains defined on
/// disks in its pools (the lab kernel boots them; most tests never start them). Disposing removes domains, pools and files.
/// </summary>
internal sealed class VmImageTestKit : IDisposable
{
    public const string FirstMac = "52:54:00:4b:53:01";

    private VmImageTestKit()
    {
        Storage = StorageTestKit.Open();
        Host = new VmHost(Storage.Libvirt, new AgentOptions { NodeName = StorageTestKit.Node, DomainType = DomainType.Qemu });
        WorkDir = LabGuest.NewWorkDir(Storage.Cleanup, LabEnvironment.UniqueName("vmimg"));
    }

    public StorageTestKit Storage { get; }
    public VmHost Host { get; }
    public string WorkDir { get; }
    public LibvirtConnection Connection => Storage.Connection;
    public static QemuImg QemuImg => StorageTestKit.QemuImg;

    public static VmImageTestKit Open() => new();

    /// <summary>Defines (does not start) a lab domain with <paramref name="disks"/> as vda, vdb, ... and one NIC with <see cref="FirstMac"/>.</summary>
    public LibvirtDomain DefineVm(string name, params string[] disks)
    {
        Storage.Cleanup.Domain(name);
        var xml = XElement.Parse(LabGuest.DomainXml(name, Path.Combine(WorkDir, $"{name}-serial.log"), disks.Length > 0 ? disks[0] : null));
        var devices = xml.Element("devices")!;
        for (var i = 1; i < disks.Length; i++)
        {
            devices.Add(XElement.Parse(LabGuest.DiskDeviceXml(disks[i], $"vd{(char)('a' + i)}")));
        }

        devices.Add(new XElement("interface", new XAttribute("type", "user"),
            new XElement("mac", new XAttribute("address", FirstMac)),
            new XElement("model", new XAttribute("type", "virtio"))));
        return Connection.DefineXml(xml.ToString());
    }

    /// <summary>A pool with a qcow2 disk <c>base</c> holding 0x11 in its first MiB and an overlay <paramref name="name"/> on it holding 0x22 in its second MiB.</summary>
    public async Task<string> ChainedDiskAsync(string pool, string dir, string name, long size = 64 << 20)
    {
        var basePath = await Storage.NewDiskAsync(pool, dir, name + "-base", size);
        await StorageTestKit.WriteAsync(basePath, 0x11, 0, 1 << 20);
        var path = Path.Combine(dir, name);
        await QemuImg.CreateAsync(path, "qcow2", null, basePath, "qcow2");
        await StorageTestKit.WriteAsync(path, 0x22, 1 << 20, 1 << 20);
        return path;
    }

    /// <summary>Whether <paramref name="path"/> reads like <see cref="ChainedDiskAsync"/> wrote it.</summary>
    public static async Task<bool> HoldsChainDataAsync(string path) =>
        await StorageTestKit.ReadsAsync(path, 0x11, 0, 1 << 20) && await StorageTestKit.ReadsAsync(path, 0x22, 1 << 20, 1 << 20);

    /// <summary>The persistent definition of a domain.</summary>
    public XElement Definition(string name)
    {
        using var domain = Connection.LookupDomainByName(name);
        return XElement.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive));
    }

    /// <summary>The names of the volumes libvirt lists in a pool (refreshed).</summary>
    public IReadOnlyList<string> Volumes(string pool)
    {
        using var p = Connection.LookupStoragePoolByName(pool);
        p.Refresh();
        return p.ListAllVolumes().Select(v =>
        {
            using (v)
            {
                return v.Name;
            }
        }).Order(StringComparer.Ordinal).ToList();
    }

    public void Dispose() => Storage.Dispose();
}
