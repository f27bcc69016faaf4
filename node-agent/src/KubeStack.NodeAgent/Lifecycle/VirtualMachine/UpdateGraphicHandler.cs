using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// updateGraphic: the VM's remote console becomes <c>type</c> (vnc or spice) with <c>password</c>, without one
/// (<c>no_password=true</c>), or keeping the password it has (neither). As the catalog says, a running VM gets it at
/// its next start: the persistent definition is redefined (<see cref="GraphicsXml.Replace"/> on the inactive XML read
/// with VIR_DOMAIN_XML_SECURE, so other secrets survive; that XML is never logged nor returned). Read back: the inactive
/// XML has exactly one console, of that type, with the asked password state (compared in memory).
/// </summary>
public sealed class UpdateGraphicHandler(VmHost host) : ILifecycleHandler
{
    private static readonly string[] Types = ["vnc", "spice"];

    public string Kind => Kinds.VirtualMachine;
    public string Key => "updateGraphic";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Updating the remote console of", domain =>
        {
            var type = StorageParameters.Required(context.Parameters, "type", Key);
            if (!Types.Contains(type, StringComparer.Ordinal))
            {
                throw new RequestParameterException("type", $"updateGraphic.type must be vnc or spice, not '{type}'.");
            }

            var remove = StorageParameters.Flag(context.Parameters, "no_password", Key) == true;
            var password = StorageParameters.Optional(context.Parameters, "password") is null ? null : VmGraphics.Password(context);
            if (password is not null && remove)
            {
                throw new RequestParameterException("no_password", "updateGraphic.no_password cannot be true together with a password (set a password or remove it, not both).");
            }

            var secure = VmDeviceOperation.InactiveForRedefine(domain);
            var change = new GraphicsChange(type, password, remove);
            var updated = GraphicsXml.Replace(secure, change);
            var wanted = GraphicsXml.Find(updated, type)?.Attribute("passwd")?.Value;
            if (!Matches(secure))
            {
                using var _ = host.Connection.DefineXml(updated.ToString());
            }

            if (!Matches(VmDeviceOperation.InactiveForRedefine(domain)))
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition does not show one {type} console with the requested password state");
            }

            var pw = password is not null ? "a new password" : remove ? "no password" : wanted is null ? "no password (it had none)" : "its password kept";
            var when = VmDeviceOperation.IsRunning(domain) ? "from the next start of the running VM" : "from its next start";
            return VmHost.Succeeded(domain, $"The remote console of VM {context.Name} on node {context.NodeName} is {type} with {pw}, {when}.");

            bool Matches(System.Xml.Linq.XDocument xml)
            {
                var all = xml.Root?.Element("devices")?.Elements("graphics").ToList() ?? [];
                return all.Count == 1 && (string?)all[0].Attribute("type") == type && (string?)all[0].Attribute("passwd") == wanted;
            }
        });
}
