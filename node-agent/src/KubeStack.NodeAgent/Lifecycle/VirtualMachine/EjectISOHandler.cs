using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// ejectISO: empties the CD-ROM drive that holds the ISO file <c>path</c> (inside the allowed roots), live and/or
/// persistently (<see cref="VmChangeScope"/>); <c>force</c> ejects a locked tray. No drive holding that ISO is the
/// seed's "no media" error (naming what the drives hold), or success for a resumed attempt whose eject is done.
/// <c>eject</c> must be true.
/// </summary>
public sealed class EjectISOHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "ejectISO";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmCdrom.RunAsync(context, host, async domain =>
        {
            VmCdrom.RequireTrue(context, "eject", "ejectISO ejects the CD-ROM (use insertISO to insert one)");
            var iso = VmCdrom.ResolveMedia(context, "path");
            var running = VmDeviceOperation.IsRunning(domain);
            var live = running ? VmCdrom.Drives(VmDeviceOperation.Live(domain)) : [];
            var config = VmCdrom.Drives(VmDeviceOperation.Inactive(domain));
            var drive = live.Concat(config).FirstOrDefault(d => d.Source == iso);
            if (drive is null)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"No CD-ROM drive of VM {context.Name} holds {iso} (ejected by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"ejectISO refused: no CD-ROM drive of VM {context.Name} on node {context.NodeName} holds {iso} " +
                        $"(its drives: {VmCdrom.Describe(running ? live : config)}).");
            }

            return await VmCdrom.ChangeAsync(context, domain, drive.Target, CdromAction.Eject, null, block: false,
                force: StorageParameters.Flag(context.Parameters, "force", Key) == true, cancellationToken).ConfigureAwait(false);
        });
}
