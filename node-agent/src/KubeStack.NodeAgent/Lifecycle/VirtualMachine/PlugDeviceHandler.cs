using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// plugDevice: attaches the device XML in <c>file</c> (a disk, NIC, GPU/host device...; <see cref="VmDeviceFiles"/>)
/// live and/or persistently, the seed's way to set options the dedicated operations lack. Probes first: a device
/// already there where asked is the seed's error (success for a resumed attempt); a half-done attach is completed.
/// libvirt validates the XML and refuses what the host cannot do (LibvirtError with its words). Read back from the
/// live/inactive XML. An l3bridge NIC plugged this way gets no OVN port (use plugNIC).
/// </summary>
public sealed class PlugDeviceHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "plugDevice";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Attaching a device to", domain =>
        {
            var device = VmDeviceFiles.Read(context);
            var what = VmDeviceFiles.Describe(device);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var missing = new VmChangeScope(
                scope.Live && VmDeviceFiles.Find(VmDeviceOperation.Live(domain), device) is null,
                scope.Config && VmDeviceFiles.Find(VmDeviceOperation.Inactive(domain), device) is null);
            if (!missing.Live && !missing.Config)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"VM {context.Name} has the device {what} (attached by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"plugDevice refused: VM {context.Name} on node {context.NodeName} already has the device {what} ({scope.Describe()}).");
            }

            try
            {
                domain.AttachDeviceFlags(device.ToString(), missing.ModificationFlags);
            }
            catch (Libvirt.LibvirtException ex)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"plugDevice of {what} on VM {context.Name} on node {context.NodeName} failed: libvirt reported {ex.Code}: {ex.LibvirtMessage}", ex.IsRetryable);
            }

            if (scope.Live && VmDeviceFiles.Find(VmDeviceOperation.Live(domain), device) is null)
            {
                return VmDeviceOperation.NotApplied(context, $"the running domain does not show the device {what}");
            }

            if (scope.Config && VmDeviceFiles.Find(VmDeviceOperation.Inactive(domain), device) is null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition does not show the device {what}");
            }

            return VmHost.Succeeded(domain, $"The device {what} was attached to VM {context.Name} on node {context.NodeName}, {scope.Describe()}.");
        });
}
