using System.Diagnostics;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Xml;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineSnapshot;

/// <summary>
/// Shared steps of the VirtualMachineSnapshot handlers (docs/storage.md, "VM snapshots and live disk snapshots"). A
/// VirtualMachineSnapshot object names a libvirt domain snapshot of the VM in <c>domain</c> (snapshot name = object
/// name). External snapshots follow libvirt's model: the overlay named in the diskspec becomes the disk's active layer
/// and the old file is frozen; the snapshot's state is its frozen files.
/// </summary>
public static class VmSnapshotSteps
{
    /// <summary>How long a block job (pull, commit, copy) may take before the handler gives up.</summary>
    public static readonly TimeSpan BlockJobTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The domain named by the request's <c>domain</c> parameter; a LibvirtError when it is not defined here.</summary>
    public static LibvirtDomain RequireDomain(LibvirtConnection connection, RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(context);
        var name = StorageParameters.Required(context.Parameters, "domain", context.Key);
        return connection.TryLookupDomainByName(name) ?? throw new StorageRefusedException(ErrorClasses.LibvirtError,
            $"{context.Key} of snapshot {context.Name}: VM {name} is not defined on node {context.NodeName}; nothing was changed.");
    }

    /// <summary>The snapshot named like the object, or a LibvirtError naming the VM.</summary>
    public static LibvirtDomainSnapshot RequireSnapshot(LibvirtDomain domain, RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(context);
        return domain.TrySnapshotLookupByName(context.Name) ?? throw new StorageRefusedException(ErrorClasses.LibvirtError,
            $"VM {domain.Name} on node {context.NodeName} has no snapshot {context.Name}; nothing was changed.");
    }

    /// <summary>spec.domainsnapshot: the snapshot's XML (<c>virsh snapshot-dumpxml</c>, not secure) as the seed's JSON.</summary>
    public static JsonObject View(LibvirtDomainSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return LibvirtXmlJson.ToJson(snapshot.GetXmlDesc(), LibvirtDocument.DomainSnapshot);
    }

    /// <summary>Waits for the block job on <paramref name="target"/>: a pull or commit until it is gone, a copy or an
    /// active commit until it is ready, then pivots. Polls every 100 ms; a job still running after the timeout is aborted.</summary>
    public static async Task WaitBlockJobAsync(LibvirtDomain domain, string target, bool pivot, string node, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = domain.GetBlockJobInfo(target);
            if (job is null)
            {
                if (pivot)
                {
                    throw new StorageRefusedException(ErrorClasses.VirtletError,
                        $"The block job on disk {target} of VM {domain.Name} on node {node} ended before it could pivot; the disk stays on its old chain.");
                }

                return;
            }

            if (pivot && job.Ready && TryPivot(domain, target))
            {
                return;
            }

            if (clock.Elapsed > BlockJobTimeout)
            {
                domain.BlockJobAbort(target, DomainBlockJobAbortFlags.None);
                throw new StorageRefusedException(ErrorClasses.Exception,
                    $"The {job.Type} block job on disk {target} of VM {domain.Name} on node {node} did not finish within {BlockJobTimeout.TotalMinutes:0} minutes " +
                    $"({job.Cur} of {job.End} bytes); it was cancelled and the disk stays on its old chain.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Pivots a ready copy or active commit. cur == end is only libvirt's hint: QEMU may not have declared the
    /// job ready yet, and then libvirt refuses the pivot with BlockCopyActive ("not ready for pivot yet"); false = poll on.</summary>
    private static bool TryPivot(LibvirtDomain domain, string target)
    {
        try
        {
            domain.BlockJobAbort(target, DomainBlockJobAbortFlags.Pivot);
            return true;
        }
        catch (LibvirtException ex) when (ex.Code == VirErrorNumber.BlockCopyActive)
        {
            return false;
        }
    }

    /// <summary>The files whose direct backing file is <paramref name="path"/>: volumes of every active pool plus the
    /// qcow2 files in <paramref name="directories"/> (snapshot overlays may live outside pools), sorted.</summary>
    public static async Task<IReadOnlyList<string>> BackedByAsync(LibvirtConnection connection, QemuImg qemuImg, string path,
        IEnumerable<string> directories, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        var children = new SortedSet<string>(await ExternalSnapshotSteps.ChildrenOfAsync(connection, qemuImg, path, ct).ConfigureAwait(false),
            StringComparer.Ordinal);
        foreach (var dir in directories.Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                if (children.Contains(file) || file == path)
                {
                    continue;
                }

                try
                {
                    var info = await qemuImg.InfoAsync(file, cancellationToken: ct).ConfigureAwait(false);
                    if (info.FullBackingFilename == path || info.BackingFilename == path)
                    {
                        children.Add(file);
                    }
                }
                catch (HostToolException)
                {
                    // Not an image: it backs onto nothing.
                }
            }
        }

        return [.. children];
    }

    /// <summary>The directories the files of a snapshot chain live in (where backing children may be).</summary>
    public static IEnumerable<string> DirectoriesOf(params IEnumerable<string>[] paths) =>
        paths.SelectMany(p => p).Select(Path.GetDirectoryName).OfType<string>().Distinct(StringComparer.Ordinal);

    /// <summary>The names of the other snapshots of <paramref name="domain"/> whose frozen state is <paramref name="path"/>.</summary>
    public static IReadOnlyList<string> SnapshotsFreezing(LibvirtDomain domain, string path, string except)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var names = new List<string>();
        foreach (var snapshot in domain.ListAllSnapshots())
        {
            using (snapshot)
            {
                if (snapshot.Name != except && SnapshotXml.Read(snapshot.GetXmlDesc()).ExternalDisks.Any(d => d.Frozen == path))
                {
                    names.Add(snapshot.Name);
                }
            }
        }

        return names;
    }

    /// <summary>The current chain of disk <paramref name="target"/>: from the live XML of a running domain, else from
    /// <c>qemu-img info --backing-chain</c> of the persistent definition's source.</summary>
    public static async Task<IReadOnlyList<string>> ChainAsync(LibvirtDomain domain, QemuImg qemuImg, string target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(qemuImg);
        if (domain.IsActive())
        {
            return SnapshotXml.Chain(domain.GetXmlDesc(), target);
        }

        var source = SnapshotXml.WritableDisks(domain.GetXmlDesc(DomainXmlFlags.Inactive)).FirstOrDefault(d => d.Target == target).File;
        if (source is null || !File.Exists(source))
        {
            return [];
        }

        return [.. (await qemuImg.InfoBackingChainAsync(source, cancellationToken: ct).ConfigureAwait(false)).Select(i => i.Filename)];
    }

    /// <summary>Writes a new empty qcow2 overlay at <paramref name="path"/> backed by <paramref name="backing"/> (its
    /// format read from the file), via a temporary file renamed over <paramref name="path"/>.</summary>
    public static async Task NewOverlayAsync(QemuImg qemuImg, string path, string backing, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        var info = await qemuImg.InfoAsync(backing, cancellationToken: ct).ConfigureAwait(false);
        var part = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.part");
        File.Delete(part);
        try
        {
            await qemuImg.CreateAsync(part, "qcow2", info.VirtualSize, backing, info.Format, cancellationToken: ct).ConfigureAwait(false);
            File.Move(part, path, overwrite: true);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }
}
