using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// kubectl delete of a VirtualMachine: powers the domain off if it runs (virDomainDestroy), undefines it with its
/// managed-save image and snapshot/checkpoint metadata, after removing its OVN ports and the Open vSwitch QoS/Queue rows
/// libvirt left for its OVS NICs. Disk files are kept (they belong to VirtualMachineDisk
/// objects; deleteVM with remove_all_storage deletes them). Nothing left on the host is success.
/// </summary>
public sealed class VirtualMachineCleanup(VmHost host) : IObjectCleanup
{
    public string Kind => Kinds.VirtualMachine;

    public Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Object.Metadata.Name;
        try
        {
            using var domain = host.TryLookup(name);
            if (domain is null)
            {
                return Task.FromResult(HandlerResult.Succeeded(message: $"VM {name} has no domain on node {context.NodeName}; nothing to clean up."));
            }

            string? liveXml = null;
            if (domain.IsActive())
            {
                liveXml = domain.GetXmlDesc(DomainXmlFlags.None);   // NICs plugged live only still had OVS rows
                domain.Destroy();
            }

            var xml = domain.GetXmlDesc(DomainXmlFlags.None);
            new Common.OvnVmPorts().RemoveDomainPorts(name, xml);
            var qos = new Common.OvsNicQos().RemoveLeftovers(domain.Uuid, xml, liveXml);
            domain.Undefine(DomainUndefineFlags.ManagedSave | DomainUndefineFlags.SnapshotsMetadata | DomainUndefineFlags.CheckpointsMetadata);
            return Task.FromResult(HandlerResult.Succeeded(message:
                $"The domain of VM {name} was powered off and undefined on node {context.NodeName}; its disk files were kept." + qos.Describe()));
        }
        catch (LibvirtException ex) when (ex.IsNoDomain)
        {
            return Task.FromResult(HandlerResult.Succeeded(message: $"VM {name} has no domain on node {context.NodeName}; nothing to clean up."));
        }
        catch (KubeStack.NodeAgent.HostTools.HostToolException ex)
        {
            return Task.FromResult(HandlerResult.Failed(ErrorClasses.Exception,
                $"Removing the OVN ports or Open vSwitch QoS rows of VM {name} on node {context.NodeName} failed: {ex.Message}", retryable: true));
        }
        catch (LibvirtException ex)
        {
            return Task.FromResult(HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"libvirt reported {ex.Code}: {ex.LibvirtMessage}", retryable: true));
        }
    }
}
