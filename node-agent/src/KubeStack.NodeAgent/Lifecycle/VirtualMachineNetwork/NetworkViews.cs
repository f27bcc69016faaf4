using System.Text.Json.Nodes;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>
/// The seed's view of a network (spec.type + spec.data, kinds.yaml resourceShape) read back from the real OVS/OVN rows:
/// bridgeInfo for an OVS bridge (type l2bridge), switchInfo/routerInfo/gatewayInfo for an OVN switch (type l3bridge),
/// addressInfo for an address set (type address). Bounded: at most <see cref="MaxItems"/> ports/NAT rules are listed.
/// </summary>
public static class NetworkViews
{
    public const string TypeBridge = "l2bridge";
    public const string TypeSwitch = "l3bridge";
    public const string TypeAddress = "address";
    public const int MaxItems = 256;

    public static JsonObject TypeSpec(string type) => new() { ["type"] = type };

    public static HandlerResult Success(JsonObject data, string type, string message) =>
        HandlerResult.Succeeded(data, message: message, extraSpec: TypeSpec(type));

    public static async Task<JsonObject?> BridgeAsync(OvsVsctl ovs, string name, CancellationToken ct)
    {
        var br = await ovs.FindBridgeAsync(name, ct).ConfigureAwait(false);
        if (br is null) return null;
        var portIds = br.Set("ports").ToHashSet(StringComparer.Ordinal);
        var ports = (await ovs.ListPortsAsync(ct).ConfigureAwait(false)).Where(p => portIds.Contains(p.Uuid)).OrderBy(p => p.Text("name"), StringComparer.Ordinal).ToList();
        var ifaces = (await ovs.ListInterfacesAsync(ct).ConfigureAwait(false)).ToDictionary(i => i.Uuid, StringComparer.Ordinal);
        var portArray = new JsonArray();
        foreach (var p in ports.Take(MaxItems))
        {
            var ia = new JsonArray();
            foreach (var id in p.Set("interfaces"))
            {
                if (!ifaces.TryGetValue(id, out var i)) continue;
                var o = new JsonObject { ["name"] = i.Text("name"), ["uuid"] = i.Uuid, ["type"] = i.Text("type") ?? string.Empty };
                if (i.Map("external_ids").TryGetValue("attached-mac", out var mac)) o["mac"] = mac;
                if (i.Text("error") is { } err) o["error"] = err;
                if (i.Integer("ingress_policing_rate") is { } rate && rate > 0)
                {
                    o["ingress_policing_rate"] = rate;
                    o["ingress_policing_burst"] = i.Integer("ingress_policing_burst") ?? 0;
                }
                ia.Add(o);
            }
            portArray.Add(new JsonObject
            {
                ["name"] = p.Text("name"),
                ["uuid"] = p.Uuid,
                ["vlan"] = p.Integer("tag") is { } tag ? NetworkParameters.Num(tag) : string.Empty,
                ["interfaces"] = ia,
            });
        }
        return new JsonObject
        {
            ["bridgeInfo"] = new JsonObject
            {
                ["name"] = br.Text("name"),
                ["uuid"] = br.Uuid,
                ["datapath_type"] = br.Text("datapath_type") ?? string.Empty,
                ["ports"] = portArray,
            },
        };
    }

    public static async Task<JsonObject?> SwitchAsync(OvnNbctl ovn, string name, CancellationToken ct)
    {
        var ls = await ovn.FindSwitchAsync(name, ct).ConfigureAwait(false);
        if (ls is null) return null;
        var ports = (await ovn.RowsAsync("Logical_Switch_Port", ls.Set("ports"), OvnNbctl.PortColumns, ct).ConfigureAwait(false))
            .OrderBy(p => p.Text("name"), StringComparer.Ordinal).ToList();
        var portArray = new JsonArray();
        foreach (var p in ports.Take(MaxItems))
        {
            portArray.Add(new JsonObject
            {
                ["name"] = p.Text("name"),
                ["tag"] = p.Integer("tag") is { } t ? NetworkParameters.Num(t) : string.Empty,
                ["type"] = p.Text("type") ?? string.Empty,
                ["addresses"] = string.Join(", ", p.Set("addresses")),
                ["router_port"] = p.Map("options").GetValueOrDefault("router-port", string.Empty),
            });
        }
        var data = new JsonObject
        {
            ["switchInfo"] = new JsonObject
            {
                ["id"] = ls.Uuid,
                ["name"] = name,
                ["subnet"] = ls.Map("other_config").GetValueOrDefault("subnet", string.Empty),
                ["exclude_ips"] = ls.Map("other_config").GetValueOrDefault("exclude_ips", string.Empty),
                ["ports"] = portArray,
                ["acls"] = ls.Set("acls").Count,
                ["qos_rules"] = ls.Set("qos_rules").Count,
            },
        };
        var dhcp = (await ovn.FindAsync("DHCP_Options", OvnNbctl.DhcpColumns, [NetworkIds.Key(NetworkIds.Switch) + "=" + HostTools.OvsdbJson.Quote(name)], ct)
            .ConfigureAwait(false)).FirstOrDefault();
        if (dhcp is not null)
        {
            var o = dhcp.Map("options");
            data["gatewayInfo"] = new JsonObject
            {
                ["id"] = dhcp.Uuid,
                ["cidr"] = dhcp.Text("cidr"),
                ["server_mac"] = o.GetValueOrDefault("server_mac", string.Empty),
                ["server_id"] = o.GetValueOrDefault("server_id", string.Empty),
                ["router"] = o.GetValueOrDefault("router", string.Empty),
                ["lease_time"] = o.GetValueOrDefault("lease_time", string.Empty),
                ["dns_server"] = o.GetValueOrDefault("dns_server", string.Empty),
                ["mtu"] = o.GetValueOrDefault("mtu", string.Empty),
            };
        }
        var router = await ovn.FindRouterAsync(NetworkPlans.Router(name), ct).ConfigureAwait(false);
        if (router is not null) data["routerInfo"] = await RouterAsync(ovn, router, ct).ConfigureAwait(false);
        return data;
    }

    public static async Task<JsonObject> RouterAsync(OvnNbctl ovn, OvsdbRow router, CancellationToken ct)
    {
        var ports = await ovn.RowsAsync("Logical_Router_Port", router.Set("ports"), OvnNbctl.RouterPortColumns, ct).ConfigureAwait(false);
        var nats = await ovn.RowsAsync("NAT", router.Set("nat"), OvnNbctl.NatColumns, ct).ConfigureAwait(false);
        var pa = new JsonArray();
        foreach (var p in ports.OrderBy(p => p.Text("name"), StringComparer.Ordinal))
        {
            pa.Add(new JsonObject
            {
                ["name"] = p.Text("name"),
                ["mac"] = p.Text("mac"),
                ["networks"] = string.Join(", ", p.Set("networks")),
                ["gateway"] = p.Set("gateway_chassis").Count > 0 ? "true" : "false",
            });
        }
        var na = new JsonArray();
        foreach (var n in nats.OrderBy(n => n.Text("external_ip"), StringComparer.Ordinal).Take(MaxItems))
        {
            na.Add(new JsonObject
            {
                ["name"] = n.Uuid,
                ["externalIP"] = n.Text("external_ip"),
                ["logicalIP"] = n.Text("logical_ip"),
                ["type"] = n.Text("type"),
                ["gateway"] = n.Text("logical_port") ?? string.Empty,
            });
        }
        return new JsonObject { ["id"] = router.Uuid, ["name"] = router.Text("name"), ["ports"] = pa, ["nat"] = na };
    }

    public static async Task<JsonObject?> AddressAsync(OvnNbctl ovn, string name, CancellationToken ct)
    {
        var set = await ovn.FindAddressSetAsync(name, ct).ConfigureAwait(false);
        if (set is null) return null;
        return new JsonObject
        {
            ["addressInfo"] = new JsonObject
            {
                ["_uuid"] = set.Uuid,
                ["name"] = name,
                ["addresses"] = string.Join(",", set.Set("addresses").OrderBy(a => a, StringComparer.Ordinal)),
                ["external_ids"] = string.Join(",", set.Map("external_ids").Select(kv => $"{kv.Key}={kv.Value}")),
            },
        };
    }

    /// <summary>The view of whatever network object carries this name: address set, switch or bridge.</summary>
    public static async Task<(JsonObject Data, string Type)?> AnyAsync(NetworkHost host, string name, CancellationToken ct)
    {
        if (await AddressAsync(host.Ovn, name, ct).ConfigureAwait(false) is { } a) return (a, TypeAddress);
        if (await SwitchAsync(host.Ovn, name, ct).ConfigureAwait(false) is { } s) return (s, TypeSwitch);
        if (await BridgeAsync(host.Ovs, name, ct).ConfigureAwait(false) is { } b) return (b, TypeBridge);
        return null;
    }
}
