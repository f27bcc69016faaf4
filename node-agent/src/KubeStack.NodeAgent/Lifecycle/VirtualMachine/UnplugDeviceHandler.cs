using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// unplugDevice: detaches the device described by the XML in <c>file</c> (<see cref="VmDeviceFiles"/>) live and/or
/// persistently; the domain's own element is handed to libvirt (so the file may be the one plugDevice used). A live
/// detach waits (bounded) until the guest released the device. A device absent everywhere asked is an error, success
/// for a resumed attempt. Files the device used (disk images) are kept.
/// </summary>
public sealed class UnplugDeviceHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "unplugDevice";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Detaching a device from", async domain =>
        {
            var device = VmDeviceFiles.Read(context);
            var what = VmDeviceFiles.Describe(device);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var live = scope.Live ? VmDeviceFiles.Find(VmDeviceOperation.Live(domain), device) : null;
            var config = scope.Config ? VmDeviceFiles.Find(VmDeviceOperation.Inactive(domain), device) : null;
            if (live is null && config is null)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"VM {context.Name} has no device {what} (detached by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"unplugDevice refused: VM {context.Name} on node {context.NodeName} has no device {what} ({scope.Describe()}). See spec.domain for its devices.");
            }

            if (config is not null) domain.DetachDeviceFlags(config.ToString(), DomainModificationFlags.Config);
            if (live is not null)
            {
                domain.DetachDeviceFlags(live.ToString(), DomainModificationFlags.Live);
                if (!await VmDeviceParameters.WaitUntilGoneAsync(() => VmDeviceFiles.Find(VmDeviceOperation.Live(domain), device) is null, cancellationToken).ConfigureAwait(false))
                {
                    return VmDeviceParameters.NotReleased(context, $"the device {what}", config is not null);
                }
            }

            if (scope.Config && VmDeviceFiles.Find(VmDeviceOperation.Inactive(domain), device) is not null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition still lists the device {what}");
            }

            return VmHost.Succeeded(domain, $"The device {what} was detached from VM {context.Name} on node {context.NodeName}, {scope.Describe()}.");
        });
}
