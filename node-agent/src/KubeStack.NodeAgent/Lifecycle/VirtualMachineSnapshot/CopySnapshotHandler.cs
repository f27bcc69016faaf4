using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// copySnapshot ("fully copy a snapshot to a file"; the catalog gives no destination, decision in docs/storage.md):
/// for each snapshotted disk, the disk as it was at the snapshot is written as one standalone qcow2 file (no backing
/// file) — external: <c>qemu-img convert</c> of the frozen file's whole chain into <c>&lt;overlay&gt;.copy</c>; internal:
/// <c>qemu-img convert -l snapshot.name=&lt;snapshot&gt;</c> of the disk into <c>&lt;disk file&gt;.&lt;snapshot&gt;.copy</c>.
/// Works while the VM runs (frozen files and internal snapshots do not change). Written via a temporary
/// <c>.&lt;name&gt;.part</c> and renamed when complete. An existing copy: error on a first attempt, success on a resumed one.
/// </summary>
public sealed class CopySnapshotHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    private readonly IHostToolRunner _runner = HostToolRunner.Default;

    public string Kind => Kinds.VirtualMachineSnapshot;
    public string Key => "copySnapshot";

    /// <summary>Where the copy of an external snapshot's disk goes.</summary>
    public static string ExternalCopyPath(ExternalSnapshotDisk disk) => $"{disk?.Overlay}.copy";

    /// <summary>Where the copy of an internal snapshot of the disk file <paramref name="diskFile"/> goes.</summary>
    public static string InternalCopyPath(string diskFile, string snapshot) => $"{diskFile}.{snapshot}.copy";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Copying snapshot {context.Name}", Key, context.NodeName, () => CopyAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CopyAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        using var domain = VmSnapshotSteps.RequireDomain(libvirt.Connection, context);
        using var snapshot = VmSnapshotSteps.RequireSnapshot(domain, context);
        var description = SnapshotXml.Read(snapshot.GetXmlDesc());
        var copies = new List<(string Source, string Destination, IReadOnlyList<string> Arguments)>();
        foreach (var disk in description.ExternalDisks)
        {
            if (!File.Exists(disk.Frozen))
            {
                throw new StorageRefusedException(ErrorClasses.VirtletError,
                    $"Snapshot {context.Name} of VM {domain.Name} on node {node} cannot be copied: its frozen file {disk.Frozen} (disk {disk.Target}) is gone.");
            }

            var format = (await qemuImg.InfoAsync(disk.Frozen, cancellationToken: ct).ConfigureAwait(false)).Format;
            copies.Add((disk.Frozen, ExternalCopyPath(disk), ["convert", "-q", "-U", "-f", format, "-O", "qcow2", disk.Frozen]));
        }

        var disks = SnapshotXml.WritableDisks(domain.GetXmlDesc(domain.IsActive() ? DomainXmlFlags.None : DomainXmlFlags.Inactive));
        foreach (var target in description.InternalDisks)
        {
            var file = disks.FirstOrDefault(d => d.Target == target).File ?? throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"Snapshot {context.Name} of VM {domain.Name} on node {node} covers disk {target}, which the VM no longer has as a file.");
            copies.Add((file, InternalCopyPath(file, context.Name), ["convert", "-q", "-U", "-f", "qcow2", "-l", $"snapshot.name={context.Name}", "-O", "qcow2", file]));
        }

        var existing = copies.Where(c => File.Exists(c.Destination)).Select(c => c.Destination).ToList();
        if (existing.Count == copies.Count && copies.Count > 0 && context.Attempt > 1)
        {
            return HandlerResult.Succeeded(VmSnapshotSteps.View(snapshot), message: $"Snapshot {context.Name} of VM {domain.Name} is copied already on node {node}: {string.Join(", ", existing)}.");
        }

        if (existing.Count > 0 && context.Attempt == 1)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Snapshot {context.Name} of VM {domain.Name} on node {node} has copies already ({string.Join(", ", existing)}); delete them first. Nothing was changed.");
        }

        foreach (var (_, destination, arguments) in copies.Where(c => !File.Exists(c.Destination)))
        {
            var part = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.part");
            File.Delete(part);
            try
            {
                await _runner.RunAsync("qemu-img", [.. arguments, part], ct).ConfigureAwait(false);
                File.Move(part, destination, overwrite: false);
            }
            catch
            {
                File.Delete(part);
                throw;
            }
        }

        return HandlerResult.Succeeded(VmSnapshotSteps.View(snapshot),
            message: $"Snapshot {context.Name} of VM {domain.Name} was copied on node {node}: {string.Join(", ", copies.Select(c => $"{c.Source} → {c.Destination}"))} (standalone qcow2).");
    }
}
