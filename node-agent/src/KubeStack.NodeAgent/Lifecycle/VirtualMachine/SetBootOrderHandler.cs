using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// setBootOrder: <c>order</c> ("hda,vda") becomes per-disk <c>&lt;boot order='n'/&gt;</c> in the persistent
/// definition (<see cref="BootOrderXml"/>); it takes effect at the next start (QEMU fixes the boot order at start).
/// The definition is read with VIR_DOMAIN_XML_SECURE so that redefining it keeps graphics passwords; that XML is never
/// logged or returned. Read back: the inactive XML's boot order equals the request.
/// </summary>
public sealed class SetBootOrderHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "setBootOrder";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting the boot order of", domain =>
        {
            var text = StorageParameters.Required(context.Parameters, "order", Key);
            var targets = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            foreach (var t in targets)
            {
                if (!System.Text.RegularExpressions.Regex.IsMatch(t, "^(vd|hd|sd)[a-z]{1,2}$"))
                {
                    throw new RequestParameterException("order", $"setBootOrder.order must list disk targets vdX, hdX or sdX separated by commas (e.g. hda,vda), not '{text}'.");
                }
            }

            if (targets.Length == 0 || targets.Distinct(StringComparer.Ordinal).Count() != targets.Length)
            {
                throw new RequestParameterException("order", $"setBootOrder.order must name each disk target once, not '{text}'.");
            }

            XDocument updated;
            try
            {
                updated = BootOrderXml.Apply(VmDeviceOperation.InactiveForRedefine(domain), targets);
            }
            catch (BootTargetMissingException ex)
            {
                return HandlerResult.Failed(ErrorClasses.VirtctlError, $"{ex.Message} Nothing was changed on node {context.NodeName}.");
            }

            if (!BootOrderXml.Read(VmDeviceOperation.Inactive(domain)).SequenceEqual(targets))
            {
                using var _ = host.Connection.DefineXml(updated.ToString());
            }

            var now = BootOrderXml.Read(VmDeviceOperation.Inactive(domain));
            if (!now.SequenceEqual(targets))
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition boots {string.Join(",", now)}, not {text}");
            }

            return VmHost.Succeeded(domain, $"Boot order of VM {context.Name} on node {context.NodeName} is {string.Join(",", targets)} (from the next start).");
        });
}
