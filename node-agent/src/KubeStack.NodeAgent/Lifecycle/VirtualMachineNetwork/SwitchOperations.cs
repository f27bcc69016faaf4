using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>Shared steps of the OVN switch operations.</summary>
public static class SwitchOperations
{
    public static async Task<OvsdbRow> RequireSwitchAsync(NetworkHost host, string name, string node, CancellationToken ct) =>
        await host.Ovn.FindSwitchAsync(name, ct).ConfigureAwait(false)
        ?? throw NetworkFailures.Refused($"the OVN logical switch {name} does not exist{(node.Length > 0 ? $" (node {node})" : string.Empty)}; create it with createSwitch first.");

    public static async Task<OvsdbRow?> DhcpOfAsync(NetworkHost host, string name, CancellationToken ct) =>
        (await host.Ovn.FindAsync("DHCP_Options", OvnNbctl.DhcpColumns, [NetworkIds.Key(NetworkIds.Switch) + "=" + OvsdbJson.Quote(name)], ct).ConfigureAwait(false))
        .FirstOrDefault();

    public static async Task<HandlerResult> ViewAsync(NetworkHost host, string name, string message, CancellationToken ct)
    {
        var data = await NetworkViews.SwitchAsync(host.Ovn, name, ct).ConfigureAwait(false)
            ?? throw new NetworkRefusedException(Contracts.Resources.ErrorClasses.VirtletError, $"the OVN logical switch {name} disappeared while it was being changed.");
        return NetworkViews.Success(data, NetworkViews.TypeSwitch, message);
    }

    /// <summary>A comma list of DNS servers (',' or '，'), each an IPv4 address.</summary>
    public static IReadOnlyList<string> DnsServers(string? text, string op)
    {
        if (text is null) return [];
        var items = NetworkFormats.SplitList(text).Where(s => s.Length > 0).ToList();
        foreach (var i in items)
        {
            if (!NetworkFormats.IsIpv4(i)) throw NetworkFailures.Refused($"{op}.dnsServer has '{i}', which is not an IPv4 address; nothing was changed.");
        }
        return items;
    }

    public static void CheckInSubnet(Ipv4Subnet subnet, string ip, string field, string op)
    {
        NetworkFormats.TryParseIpv4(ip, out var a);
        if (!subnet.Contains(a)) throw NetworkFailures.Refused($"{op}.{field} {ip} is not inside the subnet {subnet.NetworkCidr}; nothing was changed.");
    }

    public static bool IsIpv6(RequestContext context, string op)
    {
        var v = NetworkParameters.Enum(context.Parameters, "ipv6", op, false, "true", "false");
        return v == "true";
    }
}
