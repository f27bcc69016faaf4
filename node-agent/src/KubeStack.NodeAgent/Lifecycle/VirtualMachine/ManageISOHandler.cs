using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// manageISO (virsh change-media): <c>path</c> names the CD-ROM drive (hdc), <c>source</c> the ISO file inside the
/// allowed roots. <c>eject</c> empties the drive, <c>insert</c> fills an empty drive, <c>update</c> (or none of the
/// three, as virsh does when a source is given) makes it hold <c>source</c> whatever it holds; <c>force</c> ejects a
/// locked tray (VIR_DOMAIN_DEVICE_MODIFY_FORCE); <c>block</c> takes <c>source</c> as a host block device.
/// Live and/or persistent per the flags (<see cref="VmChangeScope"/>); both XMLs are read back (<see cref="VmCdrom"/>).
/// </summary>
public sealed class ManageISOHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "manageISO";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmCdrom.RunAsync(context, host, async domain =>
        {
            var p = context.Parameters;
            var target = StorageParameters.Required(p, "path", Key);
            if (!System.Text.RegularExpressions.Regex.IsMatch(target, "^(vd|hd|sd)[a-z]$"))
            {
                throw new RequestParameterException("path", $"manageISO.path must name the CD-ROM drive as vdX, hdX or sdX (e.g. hdc), not '{target}'.");
            }

            var source = VmCdrom.ResolveMedia(context, "source");
            var eject = StorageParameters.Flag(p, "eject", Key) == true;
            var insert = StorageParameters.Flag(p, "insert", Key) == true;
            if (eject && insert)
            {
                throw new RequestParameterException("eject", "manageISO.eject cannot be true together with insert (eject or insert the CD-ROM, not both).");
            }

            var action = eject ? CdromAction.Eject : insert ? CdromAction.Insert : CdromAction.Update;
            return await VmCdrom.ChangeAsync(context, domain, target, action, source,
                block: StorageParameters.Flag(p, "block", Key) == true, force: StorageParameters.Flag(p, "force", Key) == true, cancellationToken).ConfigureAwait(false);
        });
}
