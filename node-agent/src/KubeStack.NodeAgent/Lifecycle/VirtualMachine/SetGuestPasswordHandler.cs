using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// setGuestPassword: sets the password of <c>user</c> inside the running guest through the QEMU guest agent
/// (virDomainSetUserPassword; the agent runs chpasswd on Linux, NetUserSetInfo on Windows). The password goes to
/// libvirt only: it is never logged, put in a message, the status or an Event. There is no read-back API: the agent's
/// success is the confirmation (the host test reads /etc/shadow through the agent). See <see cref="VmGuestAgent"/>.
/// </summary>
public sealed class SetGuestPasswordHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "setGuestPassword";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting a guest password through the guest agent of", domain =>
        {
            var (osType, user) = VmGuestAgent.Parse(context);
            var password = StorageParameters.Required(context.Parameters, "password", Key);
            if (password.Length is < 4 or > 16 || !password.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                throw new RequestParameterException("password",
                    $"{Key}.password must be 4-16 lowercase letters, digits or '-' (the value is not shown).");
            }

            if (VmGuestAgent.RefuseUnlessRunning(context, domain, $"set the password of {user}") is { } refused)
            {
                return refused;
            }

            domain.SetUserPassword(user, password);
            return VmHost.Succeeded(domain,
                $"The password of {osType} user {user} in VM {context.Name} on node {context.NodeName} was set through the QEMU guest agent.");
        });
}
