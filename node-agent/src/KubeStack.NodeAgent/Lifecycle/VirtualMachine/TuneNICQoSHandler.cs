using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// tuneNICQoS: the NIC's (by MAC, <c>_interface</c>) inbound/outbound average bandwidth in KiB/s through
/// virDomainSetInterfaceParameters, live and/or persistently; 0 removes a limit. Success only when
/// virDomainGetInterfaceParameters, read back for each scope, reports the values (echoed in the message; spec.domain
/// shows the NIC's <c>&lt;bandwidth&gt;</c>). Live, libvirt applies them on the host side of the NIC (tc on the tap
/// of a Linux-bridge NIC, OVS QoS / ingress policing on an OVS port).
/// </summary>
public sealed class TuneNICQoSHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "tuneNICQoS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting the NIC QoS of", domain =>
        {
            var p = context.Parameters;
            var mac = VmDeviceParameters.Mac(p, "_interface", Key);
            var values = new Dictionary<string, uint>(StringComparer.Ordinal);
            if (VmDeviceParameters.OptionalInteger(p, "inbound", Key, 0, 99_999_999, "KiB/s") is { } inbound) values["inbound.average"] = (uint)inbound;
            if (VmDeviceParameters.OptionalInteger(p, "outbound", Key, 0, 99_999_999, "KiB/s") is { } outbound) values["outbound.average"] = (uint)outbound;
            if (values.Count == 0)
            {
                throw new RequestParameterException("inbound", $"{Key} needs inbound, outbound or both (KiB/s; 0 removes a limit).");
            }

            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            foreach (var (flag, xml) in TuneDiskQoSHandler.Scopes(scope, domain))
            {
                if (NicDeviceXml.Find(xml, mac) is null)
                {
                    return HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"{Key} refused: VM {context.Name} on node {context.NodeName} has no NIC with MAC {mac} ({(flag == DomainModificationFlags.Live ? "running domain" : "persistent definition")}). See spec.domain for its interfaces.");
                }
            }

            domain.SetInterfaceParameters(mac, values, scope.ModificationFlags);

            var applied = new List<string>();
            foreach (var (flag, _) in TuneDiskQoSHandler.Scopes(scope, domain))
            {
                var read = domain.GetInterfaceParameters(mac, flag);
                foreach (var (field, want) in values)
                {
                    var got = read.TryGetValue(field, out var v) ? Convert.ToUInt64(v, CultureInfo.InvariantCulture) : 0UL;
                    if (got != want)
                    {
                        return VmDeviceOperation.NotApplied(context, $"virDomainGetInterfaceParameters ({flag}) reports {field}={got} for NIC {mac} instead of {want}");
                    }
                }

                applied.Add($"{(flag == DomainModificationFlags.Live ? "live" : "persistent")}: " +
                            string.Join(", ", values.Keys.Select(k => $"{k}={(read.TryGetValue(k, out var x) ? x : 0)} KiB/s")));
            }

            return VmHost.Succeeded(domain,
                $"NIC {mac} of VM {context.Name} on node {context.NodeName} has the bandwidth read back by virDomainGetInterfaceParameters ({string.Join("; ", applied)}).");
        });
}
