using System.Text.RegularExpressions;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// The VNC password operations (setVncPassword, unsetVncPassword; updateGraphic's checks). Passwords are secrets
/// (docs/decisions.md secret-parameters): they travel only inside the device XML given to libvirt and are compared in
/// memory with the XML read back WITH VIR_DOMAIN_XML_SECURE; no message, view, log or Event ever contains them (views
/// come from <see cref="VmHost.Observe"/>, which reads the XML without that flag).
/// <para>What QEMU allows: the password of a running VNC server can change (virDomainUpdateDeviceFlags live → QMP
/// set_password) only when QEMU started it with password authentication, i.e. the VM started with a password; the
/// authentication method itself is fixed until QEMU restarts. So a live set on a server started without a password,
/// and every live unset, take effect from the next start (docs/vm-devices.md).</para>
/// </summary>
internal static partial class VmGraphics
{
    /// <summary>libvirt's limit for VNC passwords (the catalog allows 16 characters; SPICE has no such limit).</summary>
    public const int MaxVncPassword = 8;

    [GeneratedRegex("^[a-z0-9-]{4,16}$")]
    private static partial Regex PasswordRule();

    /// <summary>The password parameter, checked without ever echoing it.</summary>
    public static string Password(RequestContext ctx, string key = "password")
    {
        var value = StorageParameters.Required(ctx.Parameters, key, ctx.Key);
        if (!PasswordRule().IsMatch(value))
        {
            throw new RequestParameterException(key,
                $"{ctx.Key}.{key} must be 4-16 characters of lowercase letters, digits and '-' (the value is not shown).");
        }

        return value;
    }

    /// <summary>The VNC console of one XML, or a refusal naming what the VM has.</summary>
    public static XElement Vnc(RequestContext ctx, XDocument xml, string where)
    {
        if (GraphicsXml.Find(xml, "vnc") is { } vnc)
        {
            return vnc;
        }

        var types = xml.Root?.Element("devices")?.Elements("graphics").Select(g => (string?)g.Attribute("type")).ToList() ?? [];
        throw new VmStateException(
            $"{ctx.Key} refused: the {where} {ctx.Name} on node {ctx.NodeName} has no VNC console" +
            (types.Count == 0 ? string.Empty : $" (it has: {string.Join(", ", types)})") +
            ". Give it one with updateGraphic type=vnc.");
    }

    /// <summary>The password the running VNC server / the definition has (secure XML, in memory only), null for none.</summary>
    public static string? CurrentPassword(LibvirtDomain domain, bool live) =>
        (string?)GraphicsXml.Find(
            XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.Secure | (live ? DomainXmlFlags.None : DomainXmlFlags.Inactive))),
            "vnc")?.Attribute("passwd");

    /// <summary>True when the flags named the running VM explicitly (live=true, or current=true on a running VM).</summary>
    public static bool LiveAsked(RequestContext ctx, bool running) =>
        StorageParameters.Flag(ctx.Parameters, "live", ctx.Key) == true
        || (running && StorageParameters.Flag(ctx.Parameters, "current", ctx.Key) == true);

    /// <summary>
    /// Sets (<paramref name="password"/>) or removes (null) the VNC password where the request asks, as far as QEMU
    /// allows live (see the class summary), and reads both XMLs back.
    /// </summary>
    public static HandlerResult Apply(RequestContext ctx, LibvirtDomain domain, string? password)
    {
        if (password is { Length: > MaxVncPassword })
        {
            // libvirt refuses it in a definition ("only 8 permitted") but would pass it live to QEMU, which uses only 8
            // characters: refuse before anything changes.
            return HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"{ctx.Key} refused: libvirt permits VNC passwords of at most {MaxVncPassword} characters (QEMU's VNC authentication uses 8); " +
                $"this one has {password.Length} (the value is not shown). Nothing was changed on VM {ctx.Name} on node {ctx.NodeName}.");
        }

        var running = VmDeviceOperation.IsRunning(domain);
        var scope = VmChangeScope.Resolve(ctx, running);
        var liveAsked = LiveAsked(ctx, running);
        string? pending = null;
        if (scope.Live)
        {
            var vnc = Vnc(ctx, VmDeviceOperation.Live(domain), "running VM");
            var now = CurrentPassword(domain, live: true);
            if (now != password)
            {
                // A server started with a password has password authentication; one started without has none.
                var reason = password is null
                    ? "QEMU cannot turn off password authentication of a running VNC server (libvirt accepts the update but QEMU keeps asking for the old password)"
                    : now is null ? "QEMU started this VM's VNC server without password authentication and cannot switch it on while it runs" : null;
                if (reason is not null)
                {
                    if (liveAsked || !scope.Config)
                    {
                        return HandlerResult.Failed(ErrorClasses.VirtctlError,
                            $"{ctx.Key} refused for the running VM {ctx.Name} on node {ctx.NodeName}: {reason}. Nothing was changed; " +
                            "use config=true and restart the VM.");
                    }

                    pending = reason;
                }
                else
                {
                    domain.UpdateDeviceFlags(GraphicsXml.WithPassword(vnc, password).ToString(), DomainModificationFlags.Live);
                }
            }
        }

        if (scope.Config)
        {
            var vnc = Vnc(ctx, VmDeviceOperation.Inactive(domain), "persistent definition of VM");
            if (CurrentPassword(domain, live: false) != password)
            {
                domain.UpdateDeviceFlags(GraphicsXml.WithPassword(vnc, password).ToString(), DomainModificationFlags.Config);
            }

            if (CurrentPassword(domain, live: false) != password)
            {
                return VmDeviceOperation.NotApplied(ctx, "the persistent definition's VNC console does not carry the requested password change");
            }
        }

        if (scope.Live && pending is null && CurrentPassword(domain, live: true) != password)
        {
            return VmDeviceOperation.NotApplied(ctx, "the running VNC console does not carry the requested password change");
        }

        var verb = password is null ? "no longer needs a password" : "asks for the new password";
        var where = pending is not null
            ? $"from the next start ({pending}; the running server keeps its current authentication until then)"
            : scope.Describe();
        return VmHost.Succeeded(domain, $"The VNC console of VM {ctx.Name} on node {ctx.NodeName} {verb}, {where}.");
    }
}
