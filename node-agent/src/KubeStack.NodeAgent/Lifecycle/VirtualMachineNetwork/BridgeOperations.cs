using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>Shared steps of the OVS bridge operations.</summary>
public static class BridgeOperations
{
    /// <summary>The annotation that allows createBridge to take over the NIC carrying the host's default route.</summary>
    public const string AllowDefaultRouteAnnotation = "doslab.io/allow-default-route-nic";

    /// <summary>The integration bridge belongs to ovn-controller; the bridge operations never touch it.</summary>
    public const string IntegrationBridge = "br-int";

    public static string BridgeName(RequestContext context, string op)
    {
        var name = NetworkParameters.Required(context.Parameters, "name", op);
        if (name is IntegrationBridge) throw NetworkFailures.Refused($"{op}.name {IntegrationBridge} is OVN's integration bridge, which KubeStack does not manage; choose another name.");
        if (name.Length is < 3 or > 12 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            throw NetworkFailures.Refused($"{op}.name '{name}' must be 3 to 12 lowercase letters, digits or '-'; nothing was changed.");
        return name;
    }

    public static async Task<OvsdbRow> RequireBridgeAsync(NetworkHost host, string name, string node, CancellationToken ct) =>
        await host.Ovs.FindBridgeAsync(name, ct).ConfigureAwait(false)
        ?? throw NetworkFailures.Refused($"the OVS bridge {name} does not exist on node {node}; create it with createBridge first.");

    public static async Task<HandlerResult> ViewAsync(NetworkHost host, string name, string message, CancellationToken ct)
    {
        var data = await NetworkViews.BridgeAsync(host.Ovs, name, ct).ConfigureAwait(false)
            ?? throw new NetworkRefusedException(Contracts.Resources.ErrorClasses.VirtletError, $"the OVS bridge {name} disappeared while it was being changed.");
        return NetworkViews.Success(data, NetworkViews.TypeBridge, message);
    }

    /// <summary>The OVS port of a VM NIC: the Interface whose external_ids:attached-mac (set by libvirt) is the MAC.</summary>
    public static async Task<(string Port, string Interface)> FindVmPortAsync(NetworkHost host, string mac, string domain, string node, CancellationToken ct)
    {
        var ifaces = (await host.Ovs.ListInterfacesAsync(ct).ConfigureAwait(false))
            .Where(i => string.Equals(i.Map("external_ids").GetValueOrDefault("attached-mac"), mac, StringComparison.OrdinalIgnoreCase)).ToList();
        if (ifaces.Count == 0)
            throw NetworkFailures.Refused($"no OVS port of VM {domain} has the MAC {mac} on node {node}; the NIC must be an l2bridge NIC of a running VM (plugNIC or create the VM first).");
        if (ifaces.Count > 1)
            throw NetworkFailures.Refused($"{ifaces.Count} OVS ports have the MAC {mac} on node {node} ({string.Join(", ", ifaces.Select(i => i.Text("name")))}); MACs must be unique.");
        var iface = ifaces[0];
        var port = (await host.Ovs.ListPortsAsync(ct).ConfigureAwait(false)).FirstOrDefault(p => p.Set("interfaces").Contains(iface.Uuid))
            ?? throw new NetworkRefusedException(Contracts.Resources.ErrorClasses.VirtletError, $"the OVS interface {iface.Text("name")} has no port on node {node}.");
        return (port.Text("name")!, iface.Text("name")!);
    }
}
