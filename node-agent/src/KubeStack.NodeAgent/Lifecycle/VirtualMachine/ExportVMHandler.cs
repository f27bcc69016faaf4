using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// exportVM: writes the VM's definition and disks into the directory <c>path</c> (inside the allowed roots, resolved
/// with SafePath, made when missing): <c>&lt;vm&gt;.xml</c>, one flattened qcow2 <c>&lt;vm&gt;-&lt;target&gt;.qcow2</c> per disk and
/// <c>&lt;vm&gt;.manifest.json</c> (the backup manifest format, kind vm, full) last. Each file is written under a hidden
/// temporary name and renamed; a running VM's disks are read through a libvirt push backup job. A new export of the
/// same VM to the same path replaces the previous one.
/// </summary>
public sealed class ExportVMHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "exportVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Exporting VM {context.Name}", Key, context.NodeName, () => ExportAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> ExportAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var requested = StorageParameters.Required(context.Parameters, "path", Key);
        string dir;
        try
        {
            dir = SafePath.Resolve(requested);
        }
        catch (UnsafePathException ex)
        {
            return StorageFailures.UnsafePath(ex, "path", Key, node);
        }

        var connection = libvirt.Connection;
        using var domain = connection.TryLookupDomainByName(context.Name);
        if (domain is null)
        {
            return VmHost.DomainMissing(context);
        }

        if (File.Exists(dir))
        {
            throw new RequestParameterException("path", $"{Key}.path {requested} is a file; it must be a directory (made when missing).");
        }

        Directory.CreateDirectory(dir);
        if (SafePath.Resolve(dir) != dir)
        {
            throw new UnsafePathException(requested, "changed into a symbolic link while the export started");
        }

        var xml = domain.GetXmlDesc(DomainXmlFlags.Inactive);
        var attached = BackupSources.DisksOf(connection, xml);
        var disks = new List<BackupSourceDisk>();
        for (var i = 0; i < attached.Count; i++)
        {
            disks.Add(await BackupSources.DescribeAsync(connection, qemuImg, attached[i].Target, i == 0, attached[i].Path, ct).ConfigureAwait(false));
        }

        var name = context.Name;
        string FinalOf(BackupSourceDisk d) => $"{dir}/{name}-{d.Target}.qcow2";
        string TemporaryOf(BackupSourceDisk d) => $"{dir}/.{name}-{d.Target}.qcow2.part";
        foreach (var d in disks)
        {
            File.Delete(TemporaryOf(d));
        }

        var running = domain.IsActive();
        if (running && disks.Count > 0)
        {
            await BackupWriter.PushBackupAsync(domain, disks.ToDictionary(d => d.Target, TemporaryOf, StringComparer.Ordinal), Key, node, ct)
                .ConfigureAwait(false);
        }

        var entries = new List<BackupDiskEntry>();
        foreach (var d in disks)
        {
            if (!running)
            {
                await qemuImg.ConvertAsync(d.Path, TemporaryOf(d), "qcow2", d.Format, cancellationToken: ct).ConfigureAwait(false);
            }

            BackupFiles.Sync(TemporaryOf(d));
            File.Move(TemporaryOf(d), FinalOf(d), overwrite: true);
            entries.Add(await BackupWriter.EntryAsync(d, FinalOf(d), ["export"], ct).ConfigureAwait(false));
        }

        await BackupFiles.WriteAtomicAsync($"{dir}/{name}.xml", xml, $"{dir}/.{name}.xml.part", ct).ConfigureAwait(false);
        if (entries.Count > 0)
        {
            var manifest = new BackupManifest
            {
                Kind = BackupManifest.KindVm,
                Domain = name,
                Version = "export",
                Mode = BackupManifest.ModeFull,
                Created = DateTimeOffset.UtcNow,
                Node = node,
                Method = running ? BackupManifest.MethodLibvirtBackup : BackupManifest.MethodOfflineCopy,
                DomainXml = xml,
                AllDisks = true,
                Disks = entries,
            };
            await BackupFiles.WriteAtomicAsync($"{dir}/{name}.manifest.json", BackupManifestJson.Serialize(manifest), $"{dir}/.{name}.manifest.json.part", ct)
                .ConfigureAwait(false);
        }

        return VmHost.Succeeded(domain, $"VM {name} was exported on node {node} to {dir}: {name}.xml and " +
            (entries.Count == 0 ? "no disks" : string.Join(", ", entries.Select(e => $"{e.File} ({e.Bytes} bytes)"))) + $", manifest {name}.manifest.json.");
    }
}
