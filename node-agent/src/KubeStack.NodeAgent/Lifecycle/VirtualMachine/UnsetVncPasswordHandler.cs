using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// unsetVncPassword: the VM's VNC console no longer asks for a password. QEMU cannot turn password authentication off
/// on a running server, so with no flags a running VM changes persistently and the message says it takes effect at
/// the next start; <c>live=true</c> (or <c>current=true</c> on a running VM) is refused with VirtctlError unless the
/// running server has no password already. Read back as in <see cref="SetVncPasswordHandler"/>.
/// </summary>
public sealed class UnsetVncPasswordHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "unsetVncPassword";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Removing the VNC password of", domain => VmGraphics.Apply(context, domain, null));
}
