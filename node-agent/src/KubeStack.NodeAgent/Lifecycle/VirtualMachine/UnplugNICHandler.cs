using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// unplugNIC: detaches the NIC with <c>mac</c> live and/or persistently (a live detach waits, bounded, until the guest
/// released it). <c>type</c> must match the NIC (bridge: a Linux bridge NIC; l2bridge/l3bridge: an OVS NIC). For l3bridge the OVN logical switch port (and the ACL/QoS rows KubeStack attached to it, with setQoS's linux-htb row on the OVS port) is removed
/// once the NIC is gone from both the running domain and the definition. For OVS NICs the QoS/Queue rows libvirt made
/// for a bandwidth limit and left behind with the removed port are deleted (<see cref="OvsNicQos"/>). A MAC absent everywhere asked is an error,
/// success for a resumed attempt.
/// </summary>
public sealed class UnplugNICHandler(VmHost host, NetworkHost network) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "unplugNIC";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Unplugging a NIC from", async domain =>
        {
            var p = context.Parameters;
            var type = VmDeviceParameters.Enum(p, "type", Key, "bridge", "l2bridge", "l3bridge");
            var mac = VmDeviceParameters.Mac(p, "mac", Key);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var live = scope.Live ? NicDeviceXml.Find(VmDeviceOperation.Live(domain), mac) : null;
            var config = scope.Config ? NicDeviceXml.Find(VmDeviceOperation.Inactive(domain), mac) : null;
            if (live is null && config is null)
            {
                return context.Attempt > 1
                    ? await FinishAsync(domain, context, mac, type, type == "l3bridge" ? PlugNICHandler.InterfaceIdFor(domain.Uuid, mac) : null, $"VM {context.Name} has no NIC {mac} (unplugged by an earlier attempt of this request).", cancellationToken).ConfigureAwait(false)
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"unplugNIC refused: VM {context.Name} on node {context.NodeName} has no NIC with MAC {mac} ({scope.Describe()}). See spec.domain for its interfaces.");
            }

            var nic = (live ?? config)!;
            if ((type == "bridge") != IsLinuxBridgeNic(nic))
            {
                throw new RequestParameterException("type",
                    $"unplugNIC.type is {type}, but the NIC {mac} of VM {context.Name} is {(IsLinuxBridgeNic(nic) ? "a Linux bridge (bridge)" : "an Open vSwitch (l2bridge/l3bridge)")} NIC; nothing was changed.");
            }

            var interfaceId = NicDeviceXml.InterfaceIdOf(nic);
            if (config is not null)
            {
                domain.DetachDeviceFlags(config.ToString(), DomainModificationFlags.Config);
            }

            if (live is not null)
            {
                domain.DetachDeviceFlags(live.ToString(), DomainModificationFlags.Live);
                if (!await VmDeviceParameters.WaitUntilGoneAsync(() => NicDeviceXml.Find(VmDeviceOperation.Live(domain), mac) is null, cancellationToken).ConfigureAwait(false))
                {
                    return VmDeviceParameters.NotReleased(context, $"NIC {mac}", config is not null);
                }
            }

            if (scope.Config && NicDeviceXml.Find(VmDeviceOperation.Inactive(domain), mac) is not null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition still lists NIC {mac}");
            }

            return await FinishAsync(domain, context, mac, type, interfaceId,
                $"NIC {mac} ({type}) was unplugged from VM {context.Name} on node {context.NodeName}, {scope.Describe()}.", cancellationToken).ConfigureAwait(false);
        });

    /// <summary>Removes the l3bridge NIC's OVN port once no definition of the VM uses the NIC any more.</summary>
    private async Task<HandlerResult> FinishAsync(LibvirtDomain domain, RequestContext ctx, string mac, string type, string? interfaceId, string message, CancellationToken ct)
    {
        var stillUsed = NicDeviceXml.Find(VmDeviceOperation.Inactive(domain), mac) is not null
                        || (domain.IsActive() && NicDeviceXml.Find(VmDeviceOperation.Live(domain), mac) is not null);
        if (type == "l3bridge" && interfaceId is not null && !stillUsed)
        {
            var failed = await VmDeviceParameters.NetworkStepAsync(ctx, $"remove the OVN port {interfaceId}", () =>
                new OvnVmPorts(network.Ovn, network.Ovs).RemovePortAsync(interfaceId, ct)).ConfigureAwait(false);
            if (failed is not null) return failed;
            message += $" Its OVN logical port {interfaceId} was removed.";
        }

        if (type != "bridge")
        {
            // libvirt removes the tap's OVS port but leaves the QoS/Queue rows of a <bandwidth> limit behind
            var removed = OvsNicQos.Removed.None;
            var failed = await VmDeviceParameters.NetworkStepAsync(ctx, "remove the Open vSwitch QoS rows of the NIC", async () =>
                removed = await new OvsNicQos(network.Ovs).RemoveLeftoversAsync(domain.Uuid, ct).ConfigureAwait(false)).ConfigureAwait(false);
            if (failed is not null) return failed;
            message += removed.Describe();
        }

        return VmHost.Succeeded(domain, message);
    }

    /// <summary>A Linux bridge NIC has no virtualport; OVS NICs (l2bridge and l3bridge) have one (libvirt gives every OVS
    /// virtualport an interfaceid, so the two OVS kinds are told apart by the request's type only).</summary>
    private static bool IsLinuxBridgeNic(XElement nic) => nic.Element("virtualport") is null;
}
