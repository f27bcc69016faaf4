using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// deleteVM: undefines a shut-off VM (a running or suspended VM is refused, as in the seed), then the runtime deletes
/// the object. Flags: <c>snapshots_metadata</c> (else a VM with snapshots is refused before anything changes),
/// <c>nvram</c>. Disks are kept unless <c>remove_all_storage=true</c> (every file disk of the VM) or <c>storage</c>
/// (targets or paths of the VM's disks, like <c>virsh undefine --storage</c>) says otherwise; the disk files are
/// deleted before the domain is undefined, so a crash in between is finished by the resumed attempt; so are the VM's
/// OVN ports and the Open vSwitch QoS/Queue rows libvirt left for its OVS NICs (<see cref="Common.OvsNicQos"/>).
/// </summary>
public sealed class DeleteVMHandler(VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "deleteVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var p = context.Parameters;
        var snapshots = Flag(p, "snapshots_metadata");
        var nvram = Flag(p, "nvram");
        var removeAll = Flag(p, "remove_all_storage");
        IReadOnlyList<StorageEntry> storage = [];
        if (p["storage"] is JsonValue storageValue && storageValue.GetValueKind() == JsonValueKind.String)
        {
            var parsed = StorageListFormat.Parse(storageValue.GetValue<string>());
            if (!parsed.IsValid)
            {
                return Task.FromResult(HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"deleteVM parameter 'storage' is invalid: {string.Join(" ", parsed.Errors)}"));
            }

            storage = parsed.Value!;
        }

        try
        {
            using var domain = host.TryLookup(context.Name);
            if (domain is null)
            {
                return Task.FromResult(VmPowerOperation.IsResumed(context)
                    ? HandlerResult.Succeeded(message: $"VM {context.Name} was deleted from node {context.NodeName} (by an earlier attempt of this request).")
                    : VmHost.DomainMissing(context));
            }

            var state = domain.GetState().State;
            if (state is not (DomainState.Shutoff or DomainState.Crashed))
            {
                return Task.FromResult(VmHost.WrongState(context, state, "a VM must be shut down before it is deleted (stopVM or stopVMForce)."));
            }

            if (!snapshots && domain.ListAllSnapshots().Count is > 0 and var count)
            {
                return Task.FromResult(HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"deleteVM refused: VM {context.Name} on node {context.NodeName} has {count} snapshot(s); delete them first or set snapshots_metadata=true."));
            }

            var disks = VmDisks.Of(domain);
            var toDelete = new List<string>();
            if (removeAll)
            {
                toDelete.AddRange(disks.Select(d => d.Path));
            }

            foreach (var entry in storage)
            {
                var disk = entry.Target is { } target
                    ? disks.FirstOrDefault(d => d.Target == target)
                    : disks.FirstOrDefault(d => d.Path == entry.Path);
                if (disk is null)
                {
                    return Task.FromResult(HandlerResult.Failed(ErrorClasses.VirtctlError,
                        $"deleteVM refused: '{entry.Target ?? entry.Path}' in 'storage' is not a disk of VM {context.Name} " +
                        $"(its disks: {string.Join(", ", disks.Select(d => $"{d.Target}={d.Path}"))}). Nothing was changed."));
                }

                toDelete.Add(disk.Path);
            }

            foreach (var path in toDelete.Distinct(StringComparer.Ordinal))
            {
                var resolved = SafePath.TryResolve(path);
                if (!resolved.IsSafe)
                {
                    return Task.FromResult(HandlerResult.Failed(ErrorClasses.VirtctlError,
                        $"deleteVM refused to delete the disk '{path}' of VM {context.Name}: it {resolved.Error}. Nothing more was changed."));
                }

                VmDisks.Delete(host.Connection, resolved.FullPath!);
            }

            var flags = DomainUndefineFlags.ManagedSave;
            if (snapshots)
            {
                flags |= DomainUndefineFlags.SnapshotsMetadata;
            }

            if (nvram)
            {
                flags |= DomainUndefineFlags.Nvram;
            }

            // l3bridge NICs: their OVN logical ports (and ACL/QoS rules) go with the VM; no OVN call without them.
            // OVS NICs with a bandwidth limit: the QoS/Queue rows libvirt left behind go too (before the undefine, so a
            // resumed attempt still knows the domain's UUID)
            var xml = domain.GetXmlDesc(DomainXmlFlags.None);
            var ports = new Common.OvnVmPorts().RemoveDomainPorts(context.Name, xml);
            var qos = new Common.OvsNicQos().RemoveLeftovers(domain.Uuid, xml);
            domain.Undefine(flags);
            var removed = toDelete.Count == 0 ? "its disks were kept" : $"{toDelete.Distinct(StringComparer.Ordinal).Count()} disk file(s) were deleted";
            return Task.FromResult(HandlerResult.Succeeded(message: $"VM {context.Name} was deleted from node {context.NodeName}; {removed}" +
                (ports.Count > 0 ? $"; its OVN port(s) {string.Join(", ", ports)} were removed." : ".") + qos.Describe()));
        }
        catch (KubeStack.NodeAgent.HostTools.HostToolException ex)
        {
            return Task.FromResult(HandlerResult.Failed(ErrorClasses.Exception,
                $"Removing the OVN ports or Open vSwitch QoS rows of VM {context.Name} on node {context.NodeName} failed: {ex.Message}; the VM was not deleted.", retryable: true));
        }
        catch (LibvirtException ex)
        {
            return Task.FromResult(VmHost.LibvirtFailed(ex, "Deleting", context));
        }
        catch (IOException ex)
        {
            return Task.FromResult(HandlerResult.Failed(ErrorClasses.Exception,
                $"Deleting a disk file of VM {context.Name} on node {context.NodeName} failed: {ex.Message}", retryable: true));
        }
    }

    private static bool Flag(JsonObject parameters, string name) => parameters[name] switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => string.Equals(v.GetValue<string>(), "true", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
