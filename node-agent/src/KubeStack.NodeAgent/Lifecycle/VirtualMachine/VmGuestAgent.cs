using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// The frame of setGuestPassword/injectSshKey: both go through the QEMU guest agent (libvirt's
/// virDomainSetUserPassword / virDomainAuthorizedSSHKeys*), so the VM must run. A shut-off VM is a VirtctlError: the
/// agent does not edit guest disks offline (libguestfs' virt-customize could, but it boots an appliance VM per call and
/// is not used here: docs/vm-devices.md). A running VM without an agent channel or a running agent ends as libvirt's
/// own LibvirtError ("QEMU guest agent is not configured" / "not connected"). Secret values never reach a message.
/// </summary>
internal static class VmGuestAgent
{
    public static (string OsType, string User) Parse(RequestContext ctx)
    {
        var p = ctx.Parameters;
        var osType = VmDeviceParameters.Enum(p, "os_type", ctx.Key, "linux", "windows");
        var user = StorageParameters.Required(p, "user", ctx.Key);
        if (user.Length > 100 || !System.Text.RegularExpressions.Regex.IsMatch(user, "^[A-Za-z0-9_][A-Za-z0-9._-]*$"))
        {
            throw new RequestParameterException("user",
                $"{ctx.Key}.user must be a guest account name (a letter, digit or _ first, then letters, digits, '.', '_' or '-'; at most 100 characters), not '{user}'.");
        }

        return (osType, user);
    }

    /// <summary>Null when the VM runs; else the failure (VirtctlError for shut off, LibvirtError for paused and the like).</summary>
    public static HandlerResult? RefuseUnlessRunning(RequestContext ctx, LibvirtDomain domain, string what)
    {
        var state = domain.GetState().State;
        if (PowerStates.IsRunning(state)) return null;
        return state == DomainState.Shutoff
            ? HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{ctx.Key} cannot {what} in VM {ctx.Name} on node {ctx.NodeName}: the VM is shut off, and this node does not edit guest disks " +
                "offline (that would need libguestfs' virt-customize, which is not used). Start the VM (its image needs qemu-guest-agent) and retry.")
            : VmHost.WrongState(ctx, state, $"{what} needs the guest agent of a running VM; resume or start it first.");
    }
}
