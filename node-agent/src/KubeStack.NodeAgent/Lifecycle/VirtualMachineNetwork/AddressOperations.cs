using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>Shared steps of the address-set operations (OVN Address_Set named after the resource, usable as $name in ACLs).</summary>
public static class AddressOperations
{
    /// <summary>
    /// The Address_Set name: the resource name with '-' and '.' turned into '_' (OVN match identifiers allow neither
    /// '-' nor a '.' that would read as a field separator): resource <c>web-dmz</c> is <c>$web_dmz</c> in ACL rules.
    /// </summary>
    public static string SetName(string resourceName)
    {
        ArgumentNullException.ThrowIfNull(resourceName);
        return resourceName.Replace('-', '_').Replace('.', '_');
    }

    public static async Task<HandlerResult> ViewAsync(NetworkHost host, string name, string message, CancellationToken ct)
    {
        var data = await NetworkViews.AddressAsync(host.Ovn, name, ct).ConfigureAwait(false)
            ?? throw new NetworkRefusedException(ErrorClasses.VirtletError, $"the OVN address set {name} disappeared while it was being changed.");
        return NetworkViews.Success(data, NetworkViews.TypeAddress, message);
    }

    /// <summary>ACLs whose match uses $name (an address set still in use must not disappear under them).</summary>
    public static async Task<IReadOnlyList<OvsdbRow>> UsersAsync(NetworkHost host, string name, CancellationToken ct)
    {
        var acls = await host.Ovn.FindAsync("ACL", OvnNbctl.AclColumns, null, ct).ConfigureAwait(false);
        return acls.Where(a => UsesSet(a.Text("match") ?? string.Empty, name)).ToList();
    }

    public static bool UsesSet(string match, string name)
    {
        var token = "$" + name;
        var i = 0;
        while ((i = match.IndexOf(token, i, StringComparison.Ordinal)) >= 0)
        {
            var end = i + token.Length;
            if (end == match.Length || !(char.IsAsciiLetterOrDigit(match[end]) || match[end] is '_' or '.')) return true;
            i = end;
        }
        return false;
    }
}
