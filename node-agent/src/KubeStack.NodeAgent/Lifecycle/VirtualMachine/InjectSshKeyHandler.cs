using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// injectSshKey: appends <c>ssh_key</c> to <c>user</c>'s authorized_keys inside the running guest through the QEMU guest
/// agent (virDomainAuthorizedSSHKeysSet with APPEND: other keys stay). Probes first (a key already there is success:
/// the operation converges) and reads the keys back (virDomainAuthorizedSSHKeysGet) before reporting success. The key
/// is a secret parameter: messages name only its type. See <see cref="VmGuestAgent"/>.
/// </summary>
public sealed class InjectSshKeyHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "injectSshKey";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Adding an SSH key through the guest agent of", domain =>
        {
            var (osType, user) = VmGuestAgent.Parse(context);
            var key = StorageParameters.Required(context.Parameters, "ssh_key", Key);
            var fields = key.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (key.Length is < 16 or > 16384 || fields.Length < 2 || key.Contains('\n', StringComparison.Ordinal))
            {
                throw new RequestParameterException("ssh_key", $"{Key}.ssh_key must be one OpenSSH public key line 'TYPE BASE64 [comment]' (the value is not shown).");
            }

            if (VmGuestAgent.RefuseUnlessRunning(context, domain, $"add an SSH key for {user}") is { } refused)
            {
                return refused;
            }

            if (Has(domain, user, fields))
            {
                return VmHost.Succeeded(domain,
                    $"The {fields[0]} key is already authorized for {osType} user {user} in VM {context.Name} on node {context.NodeName}; nothing was changed.");
            }

            domain.SetAuthorizedSshKeys(user, [key], AuthorizedSshKeysFlags.Append);
            if (!Has(domain, user, fields))
            {
                return VmDeviceOperation.NotApplied(context, $"the guest agent does not list the new key in the authorized keys of {user}");
            }

            return VmHost.Succeeded(domain,
                $"A {fields[0]} key was added to the authorized keys of {osType} user {user} in VM {context.Name} on node {context.NodeName} through the QEMU guest agent (read back).");
        });

    /// <summary>True when the user's authorized_keys lists the same key type and blob (comments may differ).</summary>
    private static bool Has(LibvirtDomain domain, string user, string[] fields)
    {
        IReadOnlyList<string> keys;
        try
        {
            keys = domain.GetAuthorizedSshKeys(user);
        }
        catch (LibvirtException ex) when (!ex.IsRetryable && ex.LibvirtMessage.Contains("authorized_keys", StringComparison.Ordinal))
        {
            return false;   // no authorized_keys file yet
        }

        return keys.Any(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 2 } f && f[0] == fields[0] && f[1] == fields[1]);
    }
}
