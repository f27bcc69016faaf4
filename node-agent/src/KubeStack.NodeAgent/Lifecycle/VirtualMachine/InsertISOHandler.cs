using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// insertISO: puts the ISO file <c>path</c> (inside the allowed roots) into the VM's first empty CD-ROM drive, live
/// and/or persistently (<see cref="VmChangeScope"/>). A VM without a CD-ROM drive, or whose drives all hold media, is
/// refused naming its drives (eject first, or manageISO update=true). A drive that already holds this ISO is the seed's
/// "already has media" error, or success for a resumed attempt. <c>insert</c> must be true; <c>force</c> and
/// <c>block</c> as in manageISO.
/// </summary>
public sealed class InsertISOHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "insertISO";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmCdrom.RunAsync(context, host, async domain =>
        {
            VmCdrom.RequireTrue(context, "insert", "insertISO inserts the CD-ROM (use ejectISO to eject it)");
            var iso = VmCdrom.ResolveMedia(context, "path");
            var running = VmDeviceOperation.IsRunning(domain);
            var drives = VmCdrom.Drives(running ? VmDeviceOperation.Live(domain) : VmDeviceOperation.Inactive(domain));
            var drive = drives.FirstOrDefault(d => d.Source == iso) ?? drives.FirstOrDefault(d => d.Source is null);
            if (drive is null)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError, drives.Count == 0
                    ? $"insertISO refused: VM {context.Name} on node {context.NodeName} has no CD-ROM drive. Add one with plugDisk type=cdrom."
                    : $"insertISO refused: every CD-ROM drive of VM {context.Name} on node {context.NodeName} holds media ({VmCdrom.Describe(drives)}). " +
                      "Eject one first (ejectISO) or replace its media with manageISO update=true.");
            }

            return await VmCdrom.ChangeAsync(context, domain, drive.Target, CdromAction.Insert, iso,
                block: StorageParameters.Flag(context.Parameters, "block", Key) == true,
                force: StorageParameters.Flag(context.Parameters, "force", Key) == true, cancellationToken).ConfigureAwait(false);
        });
}
