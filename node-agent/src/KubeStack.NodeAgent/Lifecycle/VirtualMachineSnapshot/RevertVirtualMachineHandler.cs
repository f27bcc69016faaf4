using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// revertVirtualMachine: the VM's disks read what they held at the snapshot. Internal snapshots: libvirt's revert
/// (memory state included when there is one). External snapshots (libvirt 9.0 cannot revert them): a running VM is
/// powered off (the current state is what a revert discards), then each snapshotted disk gets a new empty qcow2
/// overlay on the snapshot's frozen file and the persistent definition points at it. The overlay reuses the
/// snapshot's overlay name when nothing depends on that file any more, else <c>&lt;overlay&gt;.N</c> (the old file still
/// holds a later snapshot's state). Frozen files are never written. <c>running: true</c> starts the VM afterwards.
/// The snapshot becomes the current one. Repeating converges (the new overlay is recreated empty).
/// </summary>
public sealed class RevertVirtualMachineHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineSnapshot;
    public string Key => "revertVirtualMachine";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Reverting VM to snapshot {context.Name}", Key, context.NodeName, () => RevertAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> RevertAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var start = StorageParameters.Flag(context.Parameters, "running", Key) ?? false;
        using var domain = VmSnapshotSteps.RequireDomain(libvirt.Connection, context);
        using var snapshot = VmSnapshotSteps.RequireSnapshot(domain, context);
        var description = SnapshotXml.Read(snapshot.GetXmlDesc());
        if (!description.IsExternal)
        {
            snapshot.RevertToSnapshot(start ? DomainSnapshotRevertFlags.Running : DomainSnapshotRevertFlags.None);
            var state = domain.GetState().State;
            return HandlerResult.Succeeded(VmSnapshotSteps.View(snapshot),
                message: $"VM {domain.Name} was reverted to internal snapshot {context.Name} on node {node}; it is {state}.");
        }

        if (!domain.IsPersistent())
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"VM {domain.Name} on node {node} is transient; reverting an external snapshot rewrites its persistent definition. Nothing was changed.");
        }

        foreach (var disk in description.ExternalDisks.Where(d => !File.Exists(d.Frozen)))
        {
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"Snapshot {context.Name} of VM {domain.Name} on node {node} cannot be reverted: the frozen file {disk.Frozen} of disk {disk.Target} is gone. Nothing was changed.");
        }

        // Choose each disk's new active file before touching anything.
        var plan = new List<(ExternalSnapshotDisk Disk, string Active)>();
        foreach (var disk in description.ExternalDisks)
        {
            plan.Add((disk, await ChooseActiveAsync(domain, disk, context.Name, ct).ConfigureAwait(false)));
        }

        var wasRunning = domain.IsActive();
        if (wasRunning)
        {
            domain.Destroy();
        }

        var xml = domain.GetXmlDesc(DomainXmlFlags.Inactive);
        foreach (var (disk, active) in plan)
        {
            await VmSnapshotSteps.NewOverlayAsync(qemuImg, active, disk.Frozen, ct).ConfigureAwait(false);
            xml = SnapshotXml.MoveDisk(xml, disk.Target, active);
        }

        libvirt.Connection.DefineXml(xml).Dispose();
        snapshot.Dispose();
        using (var again = VmSnapshotSteps.RequireSnapshot(domain, context))
        {
            // Mark it current (redefining keeps its XML).
            domain.SnapshotCreateXml(again.GetXmlDesc(), DomainSnapshotCreateFlags.Redefine | DomainSnapshotCreateFlags.Current).Dispose();
        }

        if (start)
        {
            domain.Create();
        }

        using var current = VmSnapshotSteps.RequireSnapshot(domain, context);
        var moved = string.Join(", ", plan.Select(p => $"{p.Disk.Target} → {p.Active} (on {p.Disk.Frozen})"));
        return HandlerResult.Succeeded(VmSnapshotSteps.View(current),
            message: $"VM {domain.Name} was reverted to external snapshot {context.Name} on node {node}: {moved}" +
                     $"{(wasRunning ? "; it was running and was powered off" : string.Empty)}; it is {(start ? "running" : "shut off")}.");
    }

    /// <summary>The snapshot's overlay file when nothing depends on it (no file backs onto it, no other snapshot's state
    /// is in it, no other VM uses it), else the first free <c>&lt;overlay&gt;.N</c>.</summary>
    private async Task<string> ChooseActiveAsync(LibvirtDomain domain, ExternalSnapshotDisk disk, string snapshotName, CancellationToken ct)
    {
        for (var n = 0; n < 1000; n++)
        {
            var candidate = n == 0 ? disk.Overlay : $"{disk.Overlay}.{n}";
            if (!File.Exists(candidate))
            {
                return candidate;
            }

            var children = await VmSnapshotSteps.BackedByAsync(libvirt.Connection, qemuImg, candidate, VmSnapshotSteps.DirectoriesOf([candidate, disk.Frozen]), ct)
                .ConfigureAwait(false);
            var frozenBy = VmSnapshotSteps.SnapshotsFreezing(domain, candidate, except: string.Empty);
            var others = Lifecycle.VirtualMachineDisk.DiskOperations.DomainsUsing(libvirt.Connection, candidate, string.Empty, string.Empty)
                .Where(d => d != domain.Name).ToList();
            if (children.Count == 0 && frozenBy.Count == 0 && others.Count == 0)
            {
                return candidate;
            }
        }

        throw new StorageRefusedException(ErrorClasses.VirtletError,
            $"No free overlay name is left beside {disk.Overlay} for reverting disk {disk.Target} to snapshot {snapshotName}; nothing was changed.");
    }
}
