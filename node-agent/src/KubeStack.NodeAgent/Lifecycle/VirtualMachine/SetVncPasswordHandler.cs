using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// setVncPassword: the VM's VNC console asks for <c>password</c> — on the running server (virDomainUpdateDeviceFlags
/// live, when QEMU started it with password authentication) and in the persistent definition, per the flags
/// (<see cref="VmChangeScope"/>; <c>persistent</c> = <c>config</c>; <c>force</c> changes nothing more). Read back from
/// the live and inactive XML with VIR_DOMAIN_XML_SECURE in memory; the password never appears in messages or views
/// (<see cref="VmGraphics"/>).
/// </summary>
public sealed class SetVncPasswordHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "setVncPassword";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting the VNC password of",
            domain => VmGraphics.Apply(context, domain, VmGraphics.Password(context)));
}
