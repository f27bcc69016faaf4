using System.Diagnostics;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// resizeRAM: sets the current memory (KiB, 100 MiB to 100 GiB) with the balloon live and/or the definition's
/// <c>&lt;currentMemory&gt;</c>. It cannot exceed the maximum (resizeMaxRAM). Read back: the balloon's actual size
/// (virDomainGetInfo memory, = virsh dommemstat actual) within a bounded wait, and the inactive XML.
/// </summary>
public sealed class ResizeRAMHandler(VmHost host) : ILifecycleHandler
{
    public const long MinKiB = 100 * 1024;
    public const long MaxKiB = 100L * 1024 * 1024;

    public static TimeSpan BalloonTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public string Kind => Kinds.VirtualMachine;
    public string Key => "resizeRAM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Resizing the memory of", async domain =>
        {
            var size = (ulong)VmDeviceOperation.Integer(context.Parameters, "size", Key, MinKiB, MaxKiB, "KiB");
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var (_, maxKiB) = Memory(VmDeviceOperation.Inactive(domain));
            var liveMax = scope.Live ? domain.GetInfo().MaxMemoryKiB : maxKiB;
            if (size > Math.Min(maxKiB, liveMax))
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"resizeRAM refused: {size} KiB exceeds the maximum memory of VM {context.Name} on node {context.NodeName} " +
                    $"({Math.Min(maxKiB, liveMax)} KiB). Raise it first with resizeMaxRAM (VM stopped).");
            }

            domain.SetMemoryFlags(size, scope.MemoryFlags);

            if (scope.Live)
            {
                var sw = Stopwatch.StartNew();
                while (domain.GetInfo().MemoryKiB != size)
                {
                    if (sw.Elapsed > BalloonTimeout)
                    {
                        return HandlerResult.Failed(ErrorClasses.LibvirtError,
                            $"resizeRAM: the balloon of VM {context.Name} on node {context.NodeName} reached {domain.GetInfo().MemoryKiB} KiB, not {size} KiB, " +
                            $"within {BalloonTimeout.TotalSeconds:0} s (the guest needs a virtio balloon driver). The target stays set.");
                    }

                    await Task.Delay(200, cancellationToken).ConfigureAwait(false);
                }
            }

            if (scope.Config && Memory(VmDeviceOperation.Inactive(domain)).Current != size)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition's currentMemory is not {size} KiB");
            }

            return VmHost.Succeeded(domain, $"Memory of VM {context.Name} on node {context.NodeName} is {size} KiB, {scope.Describe()}.");
        });

    /// <summary>(currentMemory, memory) in KiB from a domain XML (libvirt reports both in KiB).</summary>
    public static (ulong Current, ulong Maximum) Memory(XDocument xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        var max = (ulong?)xml.Root?.Element("memory") ?? 0;
        var current = (ulong?)xml.Root?.Element("currentMemory") ?? max;
        return (current, max);
    }
}
