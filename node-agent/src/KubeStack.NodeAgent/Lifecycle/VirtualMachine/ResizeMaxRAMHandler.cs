using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// resizeMaxRAM: sets the maximum memory (KiB, 100 MiB to 100 GiB) in the definition. As in the seed it needs a stopped
/// VM (QEMU cannot change the maximum of a running guest without memory hot-plug devices); live=true or a running VM
/// is refused. When the new maximum is below the current memory, libvirt lowers the current memory with it.
/// </summary>
public sealed class ResizeMaxRAMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "resizeMaxRAM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Resizing the maximum memory of", domain =>
        {
            var size = (ulong)VmDeviceOperation.Integer(context.Parameters, "size", Key, ResizeRAMHandler.MinKiB, ResizeRAMHandler.MaxKiB, "KiB");
            var state = domain.GetState().State;
            if (state != DomainState.Shutoff)
            {
                return VmHost.WrongState(context, state, "the maximum memory can only be changed while the VM is stopped; stop it first (stopVM).");
            }

            // live=true on a stopped VM is refused by Resolve (VmStateException → LibvirtError)
            _ = VmChangeScope.Resolve(context, running: false);
            domain.SetMemoryFlags(size, DomainMemoryFlags.Maximum | DomainMemoryFlags.Config);

            var (_, max) = ResizeRAMHandler.Memory(VmDeviceOperation.Inactive(domain));
            if (max != size)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition's maximum memory is {max} KiB, not {size} KiB");
            }

            return VmHost.Succeeded(domain, $"Maximum memory of VM {context.Name} on node {context.NodeName} is {size} KiB (from the next start).");
        });
}
