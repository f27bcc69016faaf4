using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// A VM for backup tests on qemu:///system: two small qcow2 disks (vda system, vdb data) in a disk pool, a second
/// pool for the backups, and a domain (TCG, no OS needed: the backups read disks, the tests never boot a guest).
/// Data is written and read with qemu-io. Disposing removes domains, pools and files.
/// </summary>
internal sealed class BackupTestKit : IDisposable
{
    public const long DiskSize = 32 * 1024 * 1024;
    public const long MiB = 1024 * 1024;

    private BackupTestKit(StorageTestKit storage)
    {
        Storage = storage;
    }

    public StorageTestKit Storage { get; }
    public LibvirtConnection Connection => Storage.Connection;
    public LibvirtHost Libvirt => Storage.Libvirt;
    public string VmName { get; private set; } = "";
    public string DiskPool { get; private set; } = "";
    public string DiskPoolPath { get; private set; } = "";
    public string BackupPool { get; private set; } = "";
    public string BackupPoolPath { get; private set; } = "";
    public string SystemDisk { get; private set; } = "";
    public string DataDisk { get; private set; } = "";

    public string Area => $"{BackupPoolPath}/{BackupLayout.AreaName}";

    public static async Task<BackupTestKit> CreateAsync()
    {
        var kit = new BackupTestKit(StorageTestKit.Open());
        try
        {
            (kit.DiskPool, kit.DiskPoolPath) = kit.Storage.NewPool();
            (kit.BackupPool, kit.BackupPoolPath) = kit.Storage.NewPool();
            kit.VmName = kit.Storage.Cleanup.Domain(LabEnvironment.UniqueName("bkvm"));
            kit.SystemDisk = await kit.Storage.NewDiskAsync(kit.DiskPool, kit.DiskPoolPath, kit.VmName, DiskSize);
            kit.DataDisk = await kit.Storage.NewDiskAsync(kit.DiskPool, kit.DiskPoolPath, $"{kit.VmName}-data", DiskSize);
            using (kit.Connection.DefineXml(DomainXml(kit.VmName, kit.SystemDisk, kit.DataDisk)))
            {
            }

            return kit;
        }
        catch
        {
            kit.Dispose();
            throw;
        }
    }

    /// <summary>A minimal TCG domain with file disks at vda, vdb... (no OS: it runs the firmware only, enough for libvirt backup jobs).</summary>
    public static string DomainXml(string name, params string[] disks) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 64),
            new XElement("vcpu", 1),
            new XElement("os", new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm")),
            new XElement("devices", disks.Select((d, i) => new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", "disk"),
                new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", "qcow2")),
                new XElement("source", new XAttribute("file", d)),
                new XElement("target", new XAttribute("dev", $"vd{(char)('a' + i)}"), new XAttribute("bus", "virtio")))))).ToString();

    public ICrashInjector Crash { get; set; } = NoCrashInjector.Instance;

    public QemuImg QemuImg => QemuImg.Default;

    public Task<HandlerResult> RunVmAsync(ILifecycleHandler handler, JsonObject parameters, int attempt = 1, string? name = null) =>
        StorageTestKit.RunAsync(handler, name ?? VmName, parameters, attempt);

    public Task<HandlerResult> RunPoolAsync(ILifecycleHandler handler, JsonObject parameters, int attempt = 1) =>
        StorageTestKit.RunAsync(handler, BackupPool, parameters, attempt);

    public JsonObject Backup(string version, bool full, bool all) =>
        new() { ["pool"] = BackupPool, ["version"] = version, ["full"] = full, ["all"] = all };

    public string VmVersionDir(string version) => $"{Area}/{VmName}/vm/{version}";

    public async Task<BackupManifest> ManifestAsync(string versionDir) =>
        await BackupFiles.ReadManifestAsync(versionDir) ?? throw new Xunit.Sdk.XunitException($"{versionDir} has no manifest.json");

    public static Task WriteAsync(string path, byte pattern, long offset, long length) => StorageTestKit.WriteAsync(path, pattern, offset, length);

    public static async Task AssertReadsAsync(string path, byte pattern, long offset, long length)
    {
        Assert.True(await StorageTestKit.ReadsAsync(path, pattern, offset, length),
            $"{path}: bytes {offset}..{offset + length} should all be 0x{pattern:x2}");
    }

    public void Dispose() => Storage.Dispose();
}
