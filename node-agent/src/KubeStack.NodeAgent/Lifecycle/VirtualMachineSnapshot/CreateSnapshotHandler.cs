using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// createSnapshot: a libvirt domain snapshot named like the object. External (isExternal, or a diskspec with
/// <c>snapshot=external</c>/<c>file=</c>): disk-only; each snapshotted disk gets a new qcow2 overlay at its <c>file</c>
/// (or libvirt's default name beside it) and the VM runs on the overlay while the old file is frozen. A running VM is
/// snapshotted live and atomically (quiesced when a guest agent is connected); a stopped one offline (libvirt runs
/// <c>qemu-img create</c>). Internal: inside the qcow2 files (with the memory state when the VM runs). A snapshot
/// of that name: error on a first attempt, success on a resumed one.
/// </summary>
public sealed class CreateSnapshotHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineSnapshot;
    public string Key => "createSnapshot";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating snapshot {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    /// <summary>The snapshot mode a request asks for, or a parameter error naming the conflict.</summary>
    public static SnapshotMode ModeOf(IReadOnlyList<DiskSnapshotSpec> specs, bool? isExternal)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var external = specs.Any(s => s.Snapshot == "external");
        var @internal = specs.Any(s => s.Snapshot == "internal");
        if (external && @internal)
        {
            throw new RequestParameterException("diskspec", "createSnapshot.diskspec mixes snapshot=external and snapshot=internal; libvirt takes one kind per snapshot.");
        }

        if (isExternal == true && @internal)
        {
            throw new RequestParameterException("diskspec", "createSnapshot.diskspec asks for snapshot=internal but isExternal is true.");
        }

        if (isExternal == false && external)
        {
            throw new RequestParameterException("diskspec", "createSnapshot.diskspec asks for snapshot=external (or gives file=) but isExternal is false.");
        }

        return isExternal == true || external ? SnapshotMode.External : SnapshotMode.Internal;
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var parsed = DiskSpecFormat.Parse(StorageParameters.Required(context.Parameters, "diskspec", Key));
        if (!parsed.IsValid)
        {
            throw new RequestParameterException("diskspec", $"createSnapshot.diskspec is invalid: {string.Join(" ", parsed.Errors)}");
        }

        var mode = ModeOf(parsed.Value!, StorageParameters.Flag(context.Parameters, "isExternal", Key));
        var specs = parsed.Value!.Select(s => s.File is null ? s : s with { File = SafePath.Resolve(s.File) }).ToList();
        using var domain = VmSnapshotSteps.RequireDomain(libvirt.Connection, context);
        using (var existing = domain.TrySnapshotLookupByName(context.Name))
        {
            if (existing is not null)
            {
                if (context.Attempt > 1)
                {
                    return HandlerResult.Succeeded(VmSnapshotSteps.View(existing), message: $"Snapshot {context.Name} of VM {domain.Name} exists on node {node}.");
                }

                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"VM {domain.Name} on node {node} already has a snapshot {context.Name}; choose another name. Nothing was changed.");
            }
        }

        var running = domain.IsActive();
        var xml = domain.GetXmlDesc(running ? DomainXmlFlags.None : DomainXmlFlags.Inactive);
        var disks = SnapshotXml.WritableDisks(xml);
        foreach (var spec in specs)
        {
            if (disks.All(d => d.Target != spec.Target))
            {
                throw new RequestParameterException("diskspec",
                    $"createSnapshot.diskspec names disk {spec.Target}, but VM {domain.Name} has no writable disk {spec.Target} (it has {string.Join(", ", disks.Select(d => d.Target))}).");
            }

            if (spec.File is { } file && File.Exists(file))
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"The overlay file {file} for disk {spec.Target} of VM {domain.Name} already exists on node {node}; an external snapshot needs a new file. Nothing was changed.");
            }

            if (spec.File is { } f && disks.Any(d => d.File == f))
            {
                throw new RequestParameterException("diskspec", $"createSnapshot.diskspec file {f} is a disk of VM {domain.Name} already.");
            }
        }

        var flags = DomainSnapshotCreateFlags.None;
        var quiesced = false;
        if (mode == SnapshotMode.External)
        {
            flags = DomainSnapshotCreateFlags.DiskOnly | DomainSnapshotCreateFlags.Atomic;
            if (running && SnapshotXml.HasConnectedGuestAgent(xml))
            {
                flags |= DomainSnapshotCreateFlags.Quiesce;
                quiesced = true;
            }
        }

        // Disks the diskspec does not name: external snapshots take libvirt's default (a new overlay beside each
        // writable disk); that is what virsh snapshot-create-as --disk-only does too.
        var request = SnapshotXml.BuildCreate(context.Name, mode, specs);
        using var snapshot = domain.SnapshotCreateXml(request, flags);
        var taken = SnapshotXml.Read(snapshot.GetXmlDesc());
        var how = mode == SnapshotMode.External
            ? $"disk-only external snapshot taken {(running ? "live and atomically" + (quiesced ? ", quiesced through the guest agent" : " (no guest agent: not quiesced)") : "offline")}; " +
              $"the VM now writes to {string.Join(", ", taken.ExternalDisks.Select(d => $"{d.Target} → {d.Overlay} (frozen: {d.Frozen})"))}"
            : $"internal snapshot {(running ? "with the memory state" : "of the stopped VM")} in {string.Join(", ", taken.InternalDisks)}";
        return HandlerResult.Succeeded(VmSnapshotSteps.View(snapshot), message: $"Snapshot {context.Name} of VM {domain.Name} was created on node {node}: {how}.");
    }
}
