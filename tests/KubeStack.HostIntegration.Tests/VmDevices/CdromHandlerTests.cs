using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using static KubeStack.HostIntegration.Tests.VmDevices.CdromVncHandlerKit;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// insertISO, manageISO and ejectISO on a running QEMU with an IDE CD-ROM drive (real libvirtd): after every change
/// the live XML, the inactive XML and QEMU itself (QMP query-block: the file its drive really holds) agree with the
/// request; every refusal leaves the drive as it was.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CdromHandlerTests
{
    [LabFact]
    public async Task Cdrom_media_is_inserted_replaced_and_ejected_live_and_persistently_and_refusals_change_nothing()
    {
        using var lab = new DeviceHandlerLab("cd");
        var (conn, host, name) = (lab.Conn, lab.Host, lab.Name);
        var iso1 = lab.ImagePath("1.iso");
        var iso2 = lab.ImagePath("2.iso");
        var escape = lab.ImagePath("escape.iso");
        File.Copy(LabEnvironment.Iso, iso1);
        File.Copy(LabEnvironment.Iso, iso2);
        File.CreateSymbolicLink(escape, "/etc/hostname");
        var vda = lab.ImagePath("vda.qcow2");
        await ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", vda, "16M");
        using var dom = conn.DefineXml(DomainXml(name, vda: vda, cdrom: true));
        dom.Create();
        var insert = new InsertISOHandler(host);
        var manage = new ManageISOHandler(host);
        var eject = new EjectISOHandler(host);

        // insertISO (no flags, running VM): the empty drive holds iso1 live and persistently, and QEMU has it open
        var r = AssertSucceeded(await RunAsync(insert, name, Insert(iso1)), $"holds {iso1}");
        await AssertMediaAsync(dom, name, iso1, iso1);
        Assert.Contains(iso1, r.View!.ToJsonString(), StringComparison.Ordinal);

        // the seed's "already has media": the same ISO again (first attempt), another ISO while the only drive is full
        AssertFailed(await RunAsync(insert, name, Insert(iso1)), ErrorClasses.LibvirtError, $"already holds {iso1}");
        AssertFailed(await RunAsync(insert, name, Insert(iso2)), ErrorClasses.LibvirtError, $"hdc: {iso1}");
        // ... but a resumed attempt (crash after the change) is success, changing nothing
        AssertSucceeded(await RunAsync(insert, name, Insert(iso1), attempt: 2), "nothing to change");
        AssertFailed(await RunAsync(manage, name, Manage("hdc", iso2, insert: true)), ErrorClasses.LibvirtError, $"already holds {iso1}");
        await AssertMediaAsync(dom, name, iso1, iso1);

        // manageISO update=true swaps the media in place
        AssertSucceeded(await RunAsync(manage, name, Manage("hdc", iso2, update: true)), $"holds {iso2}");
        await AssertMediaAsync(dom, name, iso2, iso2);

        // ejectISO names the ISO to take out: one that no drive holds is refused naming what the drives hold
        AssertFailed(await RunAsync(eject, name, Eject(iso1)), ErrorClasses.LibvirtError, $"hdc: {iso2}");
        AssertSucceeded(await RunAsync(eject, name, Eject(iso2, force: true)), "hdc of VM " + name + " is empty");
        await AssertMediaAsync(dom, name, null, null);
        AssertFailed(await RunAsync(eject, name, Eject(iso2)), ErrorClasses.LibvirtError, "no CD-ROM drive");
        AssertSucceeded(await RunAsync(eject, name, Eject(iso2), attempt: 2), "earlier attempt");
        AssertFailed(await RunAsync(manage, name, Manage("hdc", iso2, eject: true)), ErrorClasses.LibvirtError, "holds no media to eject");

        // config=true only: the definition holds the ISO, the running drive stays empty
        AssertSucceeded(await RunAsync(manage, name, Manage("hdc", iso1, insert: true, extra: ("config", true))), "persistently (from the next start)");
        await AssertMediaAsync(dom, name, null, iso1);
        // live=true completes the half: the running drive now holds it too
        AssertSucceeded(await RunAsync(manage, name, Manage("hdc", iso1, update: true, extra: ("live", true))), "live only");
        await AssertMediaAsync(dom, name, iso1, iso1);

        // refusals before libvirt: a drive the VM does not have, a disk that is not a CD-ROM, a malformed target,
        // a symbolic link out of the allowed roots, a missing ISO, insert=false
        AssertFailed(await RunAsync(manage, name, Manage("hdd", iso2, update: true)), ErrorClasses.LibvirtError, "has no CD-ROM drive hdd; its CD-ROM drives: hdc: " + iso1);
        AssertFailed(await RunAsync(manage, name, Manage("vda", iso2, update: true)), ErrorClasses.LibvirtError, "vda is a disk, not a CD-ROM");
        AssertFailed(await RunAsync(manage, name, Manage("cdrom0", iso2, update: true)), ErrorClasses.VirtctlError, "manageISO.path");
        AssertFailed(await RunAsync(manage, name, Manage("hdc", escape, update: true)), ErrorClasses.VirtctlError, "manageISO.source");
        var missing = Path.Combine(ImagesDir, name + "-missing.iso");
        AssertFailed(await RunAsync(manage, name, Manage("hdc", missing, update: true)), ErrorClasses.LibvirtError, $"the ISO file {missing} does not exist");
        AssertFailed(await RunAsync(insert, name, Insert(iso2, insert: false)), ErrorClasses.VirtctlError, "insertISO.insert must be true");
        await AssertMediaAsync(dom, name, iso1, iso1);

        // a stopped VM: the definition only; live=true is refused
        dom.Destroy();
        AssertFailed(await RunAsync(eject, name, With(Eject(iso1), "live", true)), ErrorClasses.LibvirtError, "needs a running VM");
        AssertSucceeded(await RunAsync(eject, name, Eject(iso1)), "persistently (from the next start)");
        Assert.Null(Source(Xml(dom, DomainXmlFlags.Inactive)));
        AssertSucceeded(await RunAsync(insert, name, Insert(iso2)), $"holds {iso2}");
        Assert.Equal(iso2, Source(Xml(dom, DomainXmlFlags.Inactive)));
        // ... and it starts with that media in the drive
        dom.Create();
        await AssertMediaAsync(dom, name, iso2, iso2);

        // a VM without a domain here: VirtletError
        AssertFailed(await RunAsync(insert, "kst-cd-nosuchvm", Insert(iso1)), ErrorClasses.VirtletError, "has no libvirt domain");
    }

    private static JsonObject With(JsonObject p, string key, bool value)
    {
        p[key] = value;
        return p;
    }

    private static JsonObject Insert(string iso, bool insert = true) =>
        new() { ["path"] = iso, ["insert"] = insert, ["force"] = false, ["block"] = false };

    private static JsonObject Eject(string iso, bool force = false) =>
        new() { ["path"] = iso, ["eject"] = true, ["force"] = force, ["block"] = false };

    private static JsonObject Manage(string target, string iso, bool insert = false, bool eject = false, bool update = false, (string Key, bool Value)? extra = null)
    {
        var p = new JsonObject
        {
            ["path"] = target, ["source"] = iso, ["eject"] = eject, ["insert"] = insert, ["update"] = update, ["force"] = false, ["block"] = false,
        };
        if (extra is { } e)
        {
            p[e.Key] = e.Value;
        }

        return p;
    }

    /// <summary>The media of hdc in the live XML, the inactive XML, and in QEMU (QMP query-block).</summary>
    private static async Task AssertMediaAsync(LibvirtDomain dom, string name, string? live, string? persistent)
    {
        Assert.Equal(live, Source(Xml(dom, DomainXmlFlags.None)));
        Assert.Equal(persistent, Source(Xml(dom, DomainXmlFlags.Inactive)));
        var qmp = await ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "qemu-monitor-command", name, """{"execute":"query-block"}""");
        var drive = JsonNode.Parse(qmp.Stdout)!["return"]!.AsArray()
            .Single(b => (string?)b!["qdev"] is { } q && q.Contains("ide0-1-0", StringComparison.Ordinal) || (string?)b!["device"] == "drive-ide0-1-0");
        var file = (string?)drive!["inserted"]?["file"];
        Assert.True(file == live, $"QEMU's drive holds {file ?? "no media"}, expected {live ?? "no media"}: {drive.ToJsonString(new JsonSerializerOptions { WriteIndented = false })}");
    }

    private static string? Source(System.Xml.Linq.XDocument xml) =>
        xml.Root!.Element("devices")!.Elements("disk")
            .Where(d => (string?)d.Attribute("device") == "cdrom")
            .Select(d => (string?)d.Element("source")?.Attribute("file"))
            .Single();
}
