using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using static KubeStack.HostIntegration.Tests.VmDevices.CdromVncHandlerKit;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// setVncPassword, unsetVncPassword and updateGraphic on a running QEMU with a VNC console (real libvirtd). The proof is
/// QEMU's own VNC server: an RFB 3.8 handshake from the test (<see cref="VncRfbClient"/>) sees VNC authentication
/// (type 2) offered when a password is set, the right password accepted and a wrong one refused, and type 1 (None)
/// when there is none. Both XMLs are read back with VIR_DOMAIN_XML_SECURE; no message or view carries a password.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VncHandlerTests
{
    private const string First = "first-p1";
    private const string Second = "second-2";
    private const string Third = "third-p3";
    private const string Spice = "spice-pw-4";
    private const string TooLongForVnc = "too-long-for-vnc";

    [LabFact]
    public async Task Vnc_password_reaches_the_running_server_and_the_definition_and_never_a_message_or_view()
    {
        using var lab = new DeviceHandlerLab("vnc");
        var (conn, host, name) = (lab.Conn, lab.Host, lab.Name);
        using var dom = conn.DefineXml(DomainXml(name, vnc: true, vncPassword: First));
        dom.Create();
        var set = new SetVncPasswordHandler(host);
        var unset = new UnsetVncPasswordHandler(host);
        var update = new UpdateGraphicHandler(host);
        var results = new List<HandlerResult>();

        // started with a password: QEMU offers VNC authentication and checks it
        await AssertVncAsync(dom, First);

        // setVncPassword (no flags, running): the running server and the definition take the new password at once
        results.Add(AssertSucceeded(await RunAsync(set, name, new() { ["password"] = Second }), "asks for the new password, live and persistently"));
        Assert.Equal((Second, Second), Passwords(dom));
        await AssertVncAsync(dom, Second, wrong: First);
        // the same again converges; a bad password is refused without being echoed
        results.Add(AssertSucceeded(await RunAsync(set, name, new() { ["password"] = Second, ["force"] = true }), "new password"));
        var bad = AssertFailed(await RunAsync(set, name, new() { ["password"] = "Bad_Pass" }), ErrorClasses.VirtctlError, "setVncPassword.password must be 4-16");
        Assert.DoesNotContain("Bad_Pass", bad.Message, StringComparison.Ordinal);
        results.Add(bad);
        // VNC uses 8 characters at most: libvirt refuses a longer one (the catalog allows 16) → LibvirtError, nothing changed
        var longer = AssertFailed(await RunAsync(set, name, new() { ["password"] = TooLongForVnc }), ErrorClasses.LibvirtError, "at most 8 characters");
        Assert.DoesNotContain(TooLongForVnc, longer.Message, StringComparison.Ordinal);
        results.Add(longer);
        Assert.Equal((Second, Second), Passwords(dom));

        // unsetVncPassword live=true: QEMU cannot drop password authentication while it runs → VirtctlError, nothing changed
        results.Add(AssertFailed(await RunAsync(unset, name, new() { ["live"] = true }), ErrorClasses.VirtctlError, "cannot turn off password authentication"));
        Assert.Equal((Second, Second), Passwords(dom));
        // no flags: the definition drops it now, the running server keeps asking until the next start
        results.Add(AssertSucceeded(await RunAsync(unset, name, []), "from the next start"));
        Assert.Equal((Second, (string?)null), Passwords(dom));
        await AssertVncAsync(dom, Second);
        Restart(dom);
        await AssertVncAsync(dom, null);

        // a server started without a password cannot start asking live: live=true refused; no flags → next start
        results.Add(AssertFailed(await RunAsync(set, name, new() { ["password"] = Third, ["live"] = true }), ErrorClasses.VirtctlError, "without password authentication"));
        Assert.Equal(((string?)null, (string?)null), Passwords(dom));
        results.Add(AssertSucceeded(await RunAsync(set, name, new() { ["password"] = Third, ["persistent"] = true }), "persistently"));
        Assert.Equal(((string?)null, Third), Passwords(dom));
        Restart(dom);
        await AssertVncAsync(dom, Third, wrong: Second);

        // updateGraphic: spice with a password in the definition (the running VM keeps VNC until its next start)
        results.Add(AssertSucceeded(await RunAsync(update, name, new() { ["type"] = "spice", ["password"] = Spice }), "is spice with a new password, from the next start"));
        Assert.Equal("vnc", GraphicsType(dom, DomainXmlFlags.None));
        Assert.Equal("spice", GraphicsType(dom, DomainXmlFlags.Inactive));
        Assert.Equal(Spice, (string?)GraphicsXml.Find(Xml(dom, DomainXmlFlags.Inactive | DomainXmlFlags.Secure), "spice")?.Attribute("passwd"));
        await AssertVncAsync(dom, Third);
        // a VM without a VNC console (in the definition): setVncPassword config=true names what it has
        results.Add(AssertFailed(await RunAsync(set, name, new() { ["password"] = Third, ["config"] = true }), ErrorClasses.LibvirtError, "has no VNC console (it has: spice)"));
        Restart(dom);
        Assert.Equal("spice", GraphicsType(dom, DomainXmlFlags.None));
        Assert.NotNull(GraphicsXml.Find(Xml(dom, DomainXmlFlags.None), "spice")?.Attribute("port"));

        // back to VNC without a password: after the next start the server offers None
        results.Add(AssertSucceeded(await RunAsync(update, name, new() { ["type"] = "vnc", ["no_password"] = true }), "is vnc with no password"));
        Restart(dom);
        await AssertVncAsync(dom, null);
        results.Add(AssertFailed(await RunAsync(update, name, new() { ["type"] = "vnc", ["password"] = Third, ["no_password"] = true }), ErrorClasses.VirtctlError, "updateGraphic.no_password"));
        // libvirt itself refuses a VNC console with a longer password in a definition: LibvirtError in its words
        results.Add(AssertFailed(await RunAsync(update, name, new() { ["type"] = "vnc", ["password"] = TooLongForVnc }), ErrorClasses.LibvirtError, "only 8 permitted"));
        Assert.Null(GraphicsXml.Find(Xml(dom, DomainXmlFlags.Inactive | DomainXmlFlags.Secure), "vnc")?.Attribute("passwd"));
        results.Add(AssertFailed(await RunAsync(update, name, new() { ["type"] = "rdp" }), ErrorClasses.VirtctlError, "updateGraphic.type must be vnc or spice"));
        results.Add(AssertFailed(await RunAsync(set, "kst-vnc-nosuchvm", new() { ["password"] = Third }), ErrorClasses.VirtletError, "has no libvirt domain"));

        // no password ever appears in a message or a result view
        foreach (var r in results)
        {
            var text = r is HandlerResult.Success s ? s.Message + s.View?.ToJsonString() : ((HandlerResult.Failure)r).Message;
            foreach (var pw in new[] { First, Second, Third, Spice, TooLongForVnc })
            {
                Assert.DoesNotContain(pw, text, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>The live and persistent VNC passwords (secure XML).</summary>
    private static (string? Live, string? Persistent) Passwords(LibvirtDomain dom) =>
        ((string?)GraphicsXml.Find(Xml(dom, DomainXmlFlags.Secure), "vnc")?.Attribute("passwd"),
         (string?)GraphicsXml.Find(Xml(dom, DomainXmlFlags.Secure | DomainXmlFlags.Inactive), "vnc")?.Attribute("passwd"));

    private static string? GraphicsType(LibvirtDomain dom, DomainXmlFlags flags) =>
        (string?)Xml(dom, flags).Root!.Element("devices")!.Element("graphics")?.Attribute("type");

    /// <summary>
    /// RFB handshakes against the running VNC server: with <paramref name="password"/> it must offer only VNC
    /// authentication and accept it (and refuse <paramref name="wrong"/>); with null it must offer None.
    /// </summary>
    private static async Task AssertVncAsync(LibvirtDomain dom, string? password, string? wrong = null)
    {
        var port = int.Parse((string?)GraphicsXml.Find(Xml(dom, DomainXmlFlags.None), "vnc")?.Attribute("port") ?? "-1", CultureInfo.InvariantCulture);
        Assert.True(port >= 5900, $"the running VM has no VNC port ({port})");
        var ok = await VncRfbClient.HandshakeAsync(port, password);
        if (password is null)
        {
            Assert.Equal([(byte)1], ok.SecurityTypes);
            Assert.True(ok.Accepted, "security type None was not accepted");
            return;
        }

        Assert.Equal([(byte)2], ok.SecurityTypes);
        Assert.True(ok.Accepted, "the VNC server refused the password it should ask for");
        var refused = await VncRfbClient.HandshakeAsync(port, wrong ?? "not-the-password");
        Assert.False(refused.Accepted, "the VNC server accepted a wrong password");
    }
}
