using System.Diagnostics;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// unplugDisk: detaches the disk at <c>target</c> live and/or persistently. A live detach needs the guest's
/// cooperation: the handler waits (bounded) until the live XML no longer lists the disk. The disk file is kept.
/// A target absent everywhere asked is an error, except for a resumed attempt (the earlier one detached it).
/// </summary>
public sealed class UnplugDiskHandler(VmHost host) : ILifecycleHandler
{
    /// <summary>How long the guest gets to release a disk on a live detach.</summary>
    public static TimeSpan LiveDetachTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public string Kind => Kinds.VirtualMachine;
    public string Key => "unplugDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Detaching a disk from", async domain =>
        {
            var target = StorageParameters.Required(context.Parameters, "target", Key);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var liveDisk = scope.Live ? VmDeviceOperation.Disk(VmDeviceOperation.Live(domain), target) : null;
            var configDisk = scope.Config ? VmDeviceOperation.Disk(VmDeviceOperation.Inactive(domain), target) : null;
            if (liveDisk is null && configDisk is null)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"VM {context.Name} has no disk {target} (detached by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"unplugDisk refused: VM {context.Name} on node {context.NodeName} has no disk with target {target} " +
                        $"({scope.Describe()}). See spec.domain for its disks.");
            }

            if (configDisk is not null)
            {
                domain.DetachDeviceFlags(configDisk.ToString(), Libvirt.DomainModificationFlags.Config);
            }

            if (liveDisk is not null)
            {
                domain.DetachDeviceFlags(liveDisk.ToString(), Libvirt.DomainModificationFlags.Live);
                var sw = Stopwatch.StartNew();
                while (VmDeviceOperation.Disk(VmDeviceOperation.Live(domain), target) is not null)
                {
                    if (sw.Elapsed > LiveDetachTimeout)
                    {
                        return HandlerResult.Failed(ErrorClasses.LibvirtError,
                            $"unplugDisk: the guest of VM {context.Name} on node {context.NodeName} did not release disk {target} within " +
                            $"{LiveDetachTimeout.TotalSeconds:0} s (a live detach needs the guest's cooperation; is it booted and is the disk unmounted?). " +
                            (configDisk is not null ? "It was removed from the persistent definition." : string.Empty), retryable: false);
                    }

                    await Task.Delay(200, cancellationToken).ConfigureAwait(false);
                }
            }

            if (scope.Config && VmDeviceOperation.Disk(VmDeviceOperation.Inactive(domain), target) is not null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition still lists disk {target}");
            }

            return VmHost.Succeeded(domain, $"Disk {target} was detached from VM {context.Name} on node {context.NodeName}, {scope.Describe()}; the disk file is kept.");
        });
}
