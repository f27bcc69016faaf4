using System.Security.Cryptography;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using static KubeStack.HostIntegration.Tests.VmDevices.CdromVncHandlerKit;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// updateOS on a shut-off VM (real libvirtd, qemu-img): the VM's system disk ends up holding exactly the template's
/// content (qemu-img compare), standalone, at the same path, never smaller than before; every refusal and every failure
/// leaves the old disk byte-for-byte as it was; a crash inside the swap is completed by the resumed attempt.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class UpdateOsHandlerTests
{
    [LabFact]
    public async Task UpdateOS_replaces_the_system_disk_with_the_template_safely_and_refusals_keep_the_old_disk()
    {
        using var lab = new DeviceHandlerLab("uos");
        var (conn, cleanup, host, name) = (lab.Conn, lab.Cleanup, lab.Host, lab.Name);
        var handler = new UpdateOSHandler(host, QemuImg.Default);
        var disk = lab.ImagePath("vda.qcow2");
        var template = lab.ImagePath("template.qcow2");
        var broken = lab.ImagePath("broken.qcow2");
        var other = lab.ImagePath("other.qcow2");
        foreach (var leftover in new[] { disk + UpdateOSHandler.NewSuffix, disk + UpdateOSHandler.OldSuffix })
        {
            cleanup.PathToDelete(leftover);
        }

        // the old OS disk (64 MiB, pattern 0x11) and the template (32 MiB, pattern 0x5a): different content, smaller
        await ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", disk, "64M");
        await ToolAsync("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", disk);
        await ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", template, "32M");
        await ToolAsync("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", template);
        await ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", other, "16M");
        // a template whose backing file is gone: qemu-img cannot read it
        await ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", Path.Combine(ImagesDir, name + "-gone.qcow2"), "-u", broken, "32M");
        using var dom = conn.DefineXml(DomainXml(name, vda: disk));
        var parameters = new JsonObject { ["source"] = disk, ["target"] = template };

        // the seed's rule: a running VM is refused, the disk untouched
        dom.Create();
        var original = Digest(disk);
        AssertFailed(await RunAsync(handler, name, parameters), ErrorClasses.LibvirtError, "is Running; updateOS needs a shut-off VM");
        Assert.Equal(original, Digest(disk));
        dom.Destroy();
        original = Digest(disk);   // QEMU rewrote the qcow2 header when it closed the image

        // refusals: a file that is not a disk of the VM, a path out of the allowed roots, a missing template,
        // a template qemu-img cannot read (failure after the new disk was started: it is removed, the old kept)
        AssertFailed(await RunAsync(handler, name, new() { ["source"] = other, ["target"] = template }), ErrorClasses.LibvirtError, $"has no disk {other} (its disks: vda: {disk})");
        AssertFailed(await RunAsync(handler, name, new() { ["source"] = disk, ["target"] = "/var/lib/libvirt/../../etc/shadow" }), ErrorClasses.VirtctlError, "updateOS.target");
        AssertFailed(await RunAsync(handler, name, new() { ["source"] = disk, ["target"] = template + ".missing" }), ErrorClasses.LibvirtError, "does not exist");
        AssertFailed(await RunAsync(handler, name, new() { ["source"] = disk, ["target"] = broken }), ErrorClasses.Exception, "old system disk " + disk + " is unchanged");
        Assert.Equal(original, Digest(disk));
        Assert.False(File.Exists(disk + UpdateOSHandler.NewSuffix));
        Assert.False(File.Exists(disk + UpdateOSHandler.OldSuffix));

        // a VM with a snapshot is refused (the snapshot describes the old disk)
        await ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "snapshot-create-as", name, "s1");
        var withSnapshot = Digest(disk);
        AssertFailed(await RunAsync(handler, name, parameters), ErrorClasses.LibvirtError, "has 1 snapshot(s)");
        Assert.Equal(withSnapshot, Digest(disk));
        await ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "snapshot-delete", name, "s1");

        // success: same path, the template's content, standalone qcow2, grown to the old 64 MiB, no leftovers
        AssertSucceeded(await RunAsync(handler, name, parameters), "now holds a fresh copy of " + template);
        await AssertHoldsTemplateAsync(disk, template);
        Assert.Equal(disk, SourceOfVda(dom));

        // a crash between the two renames (old moved aside, new not yet in place): the resumed attempt completes it
        await ToolAsync("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 0 1M", disk);
        await ToolAsync("qemu-img", "convert", "-q", "-O", "qcow2", template, disk + UpdateOSHandler.NewSuffix);
        await ToolAsync("qemu-img", "resize", "-q", disk + UpdateOSHandler.NewSuffix, "64M");
        File.Move(disk, disk + UpdateOSHandler.OldSuffix);
        AssertSucceeded(await RunAsync(handler, name, parameters, attempt: 2), "now holds a fresh copy");
        await AssertHoldsTemplateAsync(disk, template);

        // and the VM starts from the new disk
        dom.Create();
        Assert.True(dom.IsActive());
    }

    private static async Task AssertHoldsTemplateAsync(string disk, string template)
    {
        var compare = await ToolAsync("qemu-img", "compare", "-q", template, disk);
        Assert.Equal(0, compare.ExitCode);
        var info = await QemuImg.Default.InfoAsync(disk);
        Assert.Equal(("qcow2", 64L * 1024 * 1024, (string?)null), (info.Format, info.VirtualSize, info.BackingFilename));
        Assert.False(File.Exists(disk + UpdateOSHandler.NewSuffix));
        Assert.False(File.Exists(disk + UpdateOSHandler.OldSuffix));
    }

    private static string? SourceOfVda(LibvirtDomain dom) =>
        Xml(dom, DomainXmlFlags.Inactive).Root!.Element("devices")!.Elements("disk")
            .Where(d => (string?)d.Element("target")?.Attribute("dev") == "vda")
            .Select(d => (string?)d.Element("source")?.Attribute("file"))
            .Single();

    private static string Digest(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
