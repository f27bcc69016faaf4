using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// plugNIC: hot-plugs an <c>&lt;interface type='bridge'&gt;</c> (<see cref="NicDeviceXml"/>) live and/or persistently.
/// <c>bridge</c>: a Linux bridge. <c>l2bridge</c>: an OVS bridge (virtualport openvswitch); when the bridge carries a
/// VLAN (createBridge/setBridgeVlan) the NIC's port gets the same access tag. <c>l3bridge</c>: the OVN logical switch
/// port is made first (<see cref="OvnVmPorts"/>, named by the NIC's interfaceid, a stable UUID from the domain UUID and
/// the MAC) so ovn-controller binds it when the tap appears. Success only when the live/inactive XML read back show the
/// NIC and, live, OVS shows its port (with the tag / the iface-id).
/// </summary>
public sealed class PlugNICHandler(VmHost host, NetworkHost network) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "plugNIC";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Plugging a NIC into", async domain =>
        {
            var request = Parse(context);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var live = scope.Live ? NicDeviceXml.Find(VmDeviceOperation.Live(domain), request.Mac) : null;
            var config = scope.Config ? NicDeviceXml.Find(VmDeviceOperation.Inactive(domain), request.Mac) : null;
            var missing = new VmChangeScope(scope.Live && live is null, scope.Config && config is null);
            if (!missing.Live && !missing.Config)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"VM {context.Name} has the NIC {request.Mac} (plugged by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"plugNIC refused: VM {context.Name} on node {context.NodeName} already has a NIC with MAC {request.Mac} ({scope.Describe()}). " +
                        "Use another MAC or unplug it first.");
            }

            int? vlan = null;
            string? interfaceId = null;
            switch (request.Type)
            {
                case NicType.Bridge when !scope.Live && !Directory.Exists(Path.Combine(network.SysClassNet, request.Bridge, "bridge")):
                    // libvirt checks the bridge only when it plugs a running NIC: do the same check for the definition
                    return HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"plugNIC refused: there is no Linux bridge {request.Bridge} on node {context.NodeName}; the VM could not start with this NIC. Create the bridge first.");
                case NicType.L2Bridge:
                {
                    HandlerResult? refused = null;
                    var failed = await VmDeviceParameters.NetworkStepAsync(context, $"read OVS bridge {request.Bridge}", async () =>
                    {
                        if (await network.Ovs.FindBridgeAsync(request.Bridge, cancellationToken).ConfigureAwait(false) is null)
                        {
                            refused = HandlerResult.Failed(ErrorClasses.VirtctlError,
                                $"plugNIC refused: OVS bridge {request.Bridge} (type l2bridge) does not exist on node {context.NodeName}; create it with createBridge first.");
                            return;
                        }

                        var ports = await network.Ovs.ListPortsAsync(cancellationToken).ConfigureAwait(false);
                        vlan = (int?)ports.FirstOrDefault(x => x.Text("name") == request.Bridge)?.Integer("tag");
                    }).ConfigureAwait(false);
                    if ((failed ?? refused) is { } stop) return stop;
                    break;
                }

                case NicType.L3Bridge:
                {
                    interfaceId = (live ?? config) is { } existing ? NicDeviceXml.InterfaceIdOf(existing) : null;
                    interfaceId ??= InterfaceIdFor(domain.Uuid, request.Mac);
                    var id = interfaceId;
                    var failed = await VmDeviceParameters.NetworkStepAsync(context, $"make the OVN port of NIC {request.Mac}", () =>
                        new OvnVmPorts(network.Ovn).EnsurePortAsync(context.Name, request.Switch!, id, request.Mac, request.Ip, cancellationToken)).ConfigureAwait(false);
                    if (failed is not null) return failed;
                    break;
                }
            }

            var spec = new NicDeviceSpec(request.Type, request.Bridge, request.Mac, interfaceId, vlan, request.InboundKiB, request.OutboundKiB);
            try
            {
                domain.AttachDeviceFlags(NicDeviceXml.BuildString(spec), missing.ModificationFlags);
            }
            catch (LibvirtException) when (request.Type == NicType.L3Bridge && live is null && config is null)
            {
                // this attempt made the OVN port for a NIC that does not exist: remove it again
                await VmDeviceParameters.NetworkStepAsync(context, "remove the OVN port again", () =>
                    new OvnVmPorts(network.Ovn).RemovePortAsync(interfaceId!, cancellationToken)).ConfigureAwait(false);
                throw;
            }

            var liveNic = scope.Live ? NicDeviceXml.Find(VmDeviceOperation.Live(domain), request.Mac) : null;
            if (scope.Live && (liveNic is null || NicDeviceXml.BridgeOf(liveNic) != request.Bridge))
            {
                return VmDeviceOperation.NotApplied(context, $"the running domain does not show NIC {request.Mac} on {request.Bridge}");
            }

            if (scope.Config && NicDeviceXml.Find(VmDeviceOperation.Inactive(domain), request.Mac) is null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition does not show NIC {request.Mac}");
            }

            var port = liveNic is null ? null : NicDeviceXml.TargetOf(liveNic);
            if (port is not null && request.Type != NicType.Bridge)
            {
                HandlerResult? wrong = null;
                var failed = await VmDeviceParameters.NetworkStepAsync(context, $"read the OVS port {port}", async () =>
                    wrong = await CheckOvsPortAsync(context, port, vlan, interfaceId, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                if ((failed ?? wrong) is { } stop) return stop;
            }

            var where = request.Type switch
            {
                NicType.L2Bridge => $"OVS bridge {request.Bridge}" + (vlan is { } v ? $" (VLAN {v})" : string.Empty),
                NicType.L3Bridge => $"OVN switch {request.Switch} through {request.Bridge} (logical port {interfaceId})",
                _ => $"Linux bridge {request.Bridge}",
            };
            return VmHost.Succeeded(domain,
                $"NIC {request.Mac} was plugged into VM {context.Name} on node {context.NodeName} on {where}{(port is null ? string.Empty : $" as {port}")}, {scope.Describe()}.");
        });

    /// <summary>The OVN logical port name of a hot-plugged l3bridge NIC: stable for the domain and the MAC (a retried request reuses it).</summary>
    public static string InterfaceIdFor(Guid domainUuid, string mac) =>
        DomainXmlBuilder.NameBasedUuid($"nic:{domainUuid:D}:mac:{mac.ToLowerInvariant()}").ToString("D");

    private async Task<HandlerResult?> CheckOvsPortAsync(RequestContext ctx, string port, int? vlan, string? interfaceId, CancellationToken ct)
    {
        var row = (await network.Ovs.ListPortsAsync(ct).ConfigureAwait(false)).FirstOrDefault(p => p.Text("name") == port);
        if (row is null)
        {
            return VmDeviceOperation.NotApplied(ctx, $"Open vSwitch has no port {port} for the NIC");
        }

        if (vlan is { } tag && row.Integer("tag") != tag)
        {
            return VmDeviceOperation.NotApplied(ctx, $"OVS port {port} is not on VLAN {tag}");
        }

        if (interfaceId is not null)
        {
            var iface = (await network.Ovs.ListInterfacesAsync(ct).ConfigureAwait(false)).FirstOrDefault(i => i.Text("name") == port);
            if (iface?.Map("external_ids").GetValueOrDefault("iface-id") != interfaceId)
            {
                return VmDeviceOperation.NotApplied(ctx, $"OVS interface {port} does not carry external_ids:iface-id={interfaceId}");
            }
        }

        return null;
    }

    private sealed record Request(NicType Type, string Bridge, string Mac, string? Ip, string? Switch, long? InboundKiB, long? OutboundKiB);

    private static Request Parse(RequestContext ctx)
    {
        var p = ctx.Parameters;
        const string op = "plugNIC";
        var type = VmDeviceParameters.Enum(p, "type", op, "bridge", "l2bridge", "l3bridge") switch
        {
            "l2bridge" => NicType.L2Bridge,
            "l3bridge" => NicType.L3Bridge,
            _ => NicType.Bridge,
        };
        var parsed = NicSourceFormat.Parse(StorageParameters.Required(p, "source", op), type);
        if (parsed.Value is not { } source)
        {
            throw new RequestParameterException("source", $"{op}.source: {string.Join(" ", parsed.Errors)}");
        }

        if (type == NicType.L3Bridge && source.Switch is null)
        {
            throw new RequestParameterException("source",
                $"{op}.source must name the OVN switch of an l3bridge NIC (source={source.Source},switch=NAME[,ip=...]): the NIC's logical port lives on it.");
        }

        var mac = VmDeviceParameters.Mac(p, "mac", op);
        var inbound = VmDeviceParameters.OptionalInteger(p, "inbound", op, 0, 99_999_999, "KiB/s");
        var outbound = VmDeviceParameters.OptionalInteger(p, "outbound", op, 0, 99_999_999, "KiB/s");
        return new Request(type, source.Source, mac, source.Ip, source.Switch, inbound, outbound);
    }
}
