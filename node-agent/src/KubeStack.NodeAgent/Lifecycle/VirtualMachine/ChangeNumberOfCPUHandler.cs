using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// changeNumberOfCPU: sets the active vCPU count (virDomainSetVcpusFlags) live and/or persistently, or with
/// <c>maximum=true</c> the persistent maximum. Live unplug on a TCG (type='qemu') domain is refused: QEMU wedges when a
/// vCPU is unplugged under TCG (docs/host-lab.md); plug works, and so does any persistent change.
/// The topology parameters (cores/sockets/threads) are refused: they need a redefinition this agent does not do yet.
/// Read back: GetInfo for the running count, the inactive XML's <c>&lt;vcpu&gt;</c> for the definition.
/// </summary>
public sealed class ChangeNumberOfCPUHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "changeNumberOfCPU";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Changing the vCPUs of", domain =>
        {
            var p = context.Parameters;
            var count = (uint)VmDeviceOperation.Integer(p, "count", Key, 1, 100, "vCPUs");
            foreach (var topology in new[] { "cores", "sockets", "threads" })
            {
                if (StorageParameters.Optional(p, topology) is not null)
                {
                    return HandlerResult.Failed(ErrorClasses.VirtctlError,
                        $"changeNumberOfCPU.{topology} is not supported by the KubeStack agent on node {context.NodeName}: changing the CPU " +
                        "topology needs a redefinition of the stopped VM, which is not implemented. Nothing was changed; send count (and maximum) only.");
                }
            }

            var running = VmDeviceOperation.IsRunning(domain);
            var maximum = StorageParameters.Flag(p, "maximum", Key) == true;
            var guest = StorageParameters.Flag(p, "guest", Key) == true;
            var scope = VmChangeScope.Resolve(context, running, "hotpluggable");
            if (maximum)
            {
                if (scope.Live && StorageParameters.Flag(p, "live", Key) == true)
                {
                    throw new RequestParameterException("maximum", "changeNumberOfCPU.maximum=true changes the definition only; it cannot be combined with live=true.");
                }

                scope = new VmChangeScope(false, true);
            }

            var inactive = VmDeviceOperation.Inactive(domain);
            var (configCurrent, configMax) = Vcpus(inactive);
            var liveCount = running ? (uint)domain.GetInfo().VirtualCpus : 0u;
            if (!maximum && count > configMax && scope.Config)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"changeNumberOfCPU refused: count {count} exceeds the maximum of {configMax} vCPUs of VM {context.Name} on node {context.NodeName}. " +
                    "Raise the maximum first (maximum=true, config=true, VM stopped or for the next start).");
            }

            if (scope.Live && count < liveCount && IsTcg(VmDeviceOperation.Live(domain)))
            {
                return HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"changeNumberOfCPU refused on node {context.NodeName}: VM {context.Name} runs under TCG (domain type qemu, no KVM) and " +
                    $"unplugging vCPUs live ({liveCount} → {count}) wedges QEMU there. Nothing was changed; use config=true (takes effect at the next start) " +
                    "or a KVM node.");
            }

            var flags = maximum ? DomainVcpuFlags.Maximum | DomainVcpuFlags.Config : scope.VcpuFlags;
            if (guest)
            {
                flags |= DomainVcpuFlags.Guest;
            }

            var alreadyLive = !scope.Live || liveCount == count;
            var alreadyConfig = !scope.Config || (maximum ? configMax == count : configCurrent == count);
            if (!(alreadyLive && alreadyConfig))
            {
                if (scope.Live && scope.Config && !maximum)
                {
                    // one flag set at a time: libvirt applies live+config in one call, but a partial earlier attempt
                    // may have done one of them already
                    if (!alreadyConfig) domain.SetVcpusFlags(count, DomainVcpuFlags.Config | (guest ? DomainVcpuFlags.Guest : 0));
                    if (!alreadyLive) domain.SetVcpusFlags(count, DomainVcpuFlags.Live | (guest ? DomainVcpuFlags.Guest : 0));
                }
                else
                {
                    domain.SetVcpusFlags(count, flags);
                }
            }

            if (scope.Live && domain.GetInfo().VirtualCpus != count)
            {
                return VmDeviceOperation.NotApplied(context, $"the running VM has {domain.GetInfo().VirtualCpus} vCPUs, not {count}");
            }

            var (nowCurrent, nowMax) = Vcpus(VmDeviceOperation.Inactive(domain));
            if (scope.Config && (maximum ? nowMax : nowCurrent) != count)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition says {(maximum ? nowMax : nowCurrent)} vCPUs, not {count}");
            }

            var what = maximum ? $"maximum vCPUs set to {count} (from the next start)" : $"{count} vCPUs, {scope.Describe()}";
            return VmHost.Succeeded(domain, $"VM {context.Name} on node {context.NodeName}: {what}.");
        });

    /// <summary>The definition's (current, maximum) vCPUs from <c>&lt;vcpu current='c'&gt;max&lt;/vcpu&gt;</c>.</summary>
    public static (uint Current, uint Maximum) Vcpus(XDocument xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        var vcpu = xml.Root?.Element("vcpu");
        var max = vcpu is null ? 1u : uint.Parse(vcpu.Value.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var current = (uint?)vcpu?.Attribute("current") ?? max;
        return (current, max);
    }

    /// <summary>True for a TCG domain (libvirt type 'qemu'): no KVM acceleration.</summary>
    public static bool IsTcg(XDocument xml) => (string?)xml.Root?.Attribute("type") == "qemu";
}
