using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// deleteSwitch: removes the OVN logical switch named after the resource with its DHCP options, its localnet port and
/// the floating-IP router KubeStack made for it (with that router's ports on external switches) — one transaction.
/// Refused while VM ports are on the switch (unplug those NICs first). With <c>bridge</c>, the switch's localnet port
/// must be on that bridge.
/// </summary>
public sealed class DeleteSwitchHandler(NetworkHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineNetwork;
    public string Key => "deleteSwitch";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NetworkFailures.GuardAsync($"Deleting OVN switch {context.Name}", context.NodeName, async () =>
        {
            var name = context.Name;
            var bridge = NetworkParameters.Optional(context.Parameters, "bridge");
            SwitchOperations.IsIpv6(context, Key);
            var ls = await host.Ovn.FindSwitchAsync(name, cancellationToken).ConfigureAwait(false);
            if (ls is null)
            {
                if (context.Attempt > 1) return HandlerResult.Succeeded(message: $"OVN switch {name} is gone.");
                throw NetworkFailures.Refused($"the OVN logical switch {name} does not exist.");
            }
            var ports = await host.Ovn.RowsAsync("Logical_Switch_Port", ls.Set("ports"), OvnNbctl.PortColumns, cancellationToken).ConfigureAwait(false);
            var vmPorts = ports.Where(p => (p.Text("type") ?? string.Empty) is not ("localnet" or "router")).Select(p => p.Text("name")).ToList();
            if (vmPorts.Count > 0)
                throw NetworkFailures.Refused($"OVN switch {name} still has {vmPorts.Count} VM port(s) ({string.Join(", ", vmPorts.Take(5))}); unplug those NICs first. Nothing was deleted.");
            if (bridge is not null)
            {
                var ln = ports.FirstOrDefault(p => p.Text("type") == "localnet");
                var net = ln?.Map("options").GetValueOrDefault("network_name");
                if (net != bridge)
                    throw NetworkFailures.Refused($"OVN switch {name} is {(net is null ? "not attached to a bridge" : $"attached to bridge {net}")}, not to {bridge}; nothing was deleted.");
            }
            var cmds = await SwitchCleanup.PlanAsync(host, name, cancellationToken).ConfigureAwait(false);
            await host.Ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(message: $"OVN switch {name} and its DHCP options were deleted.");
        });
    }
}

/// <summary>What deleting a switch removes (used by deleteSwitch and the finalizer cleanup).</summary>
public static class SwitchCleanup
{
    public static async Task<IReadOnlyList<OvsdbCommand>> PlanAsync(NetworkHost host, string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        var cmds = new List<OvsdbCommand>();
        var routerName = NetworkPlans.Router(name);
        var router = await host.Ovn.FindRouterAsync(routerName, ct).ConfigureAwait(false);
        if (router is not null)
        {
            var rps = (await host.Ovn.RowsAsync("Logical_Router_Port", router.Set("ports"), OvnNbctl.RouterPortColumns, ct).ConfigureAwait(false))
                .Select(r => r.Text("name")).ToHashSet(StringComparer.Ordinal);
            var peers = await host.Ovn.FindAsync("Logical_Switch_Port", ["name", "options"], ["type=router"], ct).ConfigureAwait(false);
            foreach (var peer in peers.Where(p => rps.Contains(p.Map("options").GetValueOrDefault("router-port") ?? string.Empty)))
                cmds.Add(OvsdbCommand.Of("--if-exists", "lsp-del", peer.Text("name")!));
            cmds.Add(OvsdbCommand.Of("--if-exists", "lr-del", routerName));
        }
        cmds.Add(OvsdbCommand.Of("--if-exists", "ls-del", name));
        if (await SwitchOperations.DhcpOfAsync(host, name, ct).ConfigureAwait(false) is { } dhcp)
            cmds.Add(OvsdbCommand.Of("destroy", "DHCP_Options", dhcp.Uuid));
        return cmds;
    }
}
