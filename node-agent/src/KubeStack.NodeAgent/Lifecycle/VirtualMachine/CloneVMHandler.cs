using System.Xml.Linq;
using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// cloneVM (like virt-clone): a shut-off VM's persistent definition is defined again as VM <c>name</c> with a new UUID,
/// new MACs (<c>mac</c> for the first NIC when given), new OVN interface ids and full copies of its file disks (backing
/// chains flattened, the source's format kept; <c>nonsparse</c> allocates them fully). The copies go to the paths of
/// <c>file</c> (one per disk, in the order of the VM's disks) or, by default and with <c>auto_clone</c>, beside each
/// source as <c>&lt;name&gt;-&lt;target&gt;</c>. <c>preserve_data</c> uses the <c>file</c> paths as they are (no copy).
/// Each copy is written under a temporary name and renamed when complete; the domain is defined last, and a failure
/// removes every copy this request made, so nothing half-made remains. The clone's UUID is derived from the source's
/// UUID and the new name, so a resumed attempt recognises its own clone and the copies it finished. The result view is
/// the source VM's (the clone has no VirtualMachine object of its own).
/// </summary>
public sealed class CloneVMHandler(VmHost host, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "cloneVM";

    /// <summary>The default file of disk <paramref name="target"/> of clone <paramref name="clone"/>, beside the source disk.</summary>
    public static string DefaultDiskPath(string sourcePath, string clone, string target) =>
        Path.Combine(Path.GetDirectoryName(sourcePath) ?? "/", $"{clone}-{target}");

    /// <summary>The UUID of the clone named <paramref name="clone"/> of the domain <paramref name="source"/>.</summary>
    public static Guid CloneUuid(Guid source, string clone) => DomainXmlBuilder.NameBasedUuid($"clone:{source:D}:{clone}");

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Cloning VM {context.Name}", Key, context.NodeName, () => CloneAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CloneAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var name = context.Name;
        var clone = DiskVolumeSteps.RequireName(p, "name", Key);
        if (clone == name)
        {
            throw new RequestParameterException("name", $"{Key}.name must differ from the VM's own name {name}.");
        }

        var preserve = StorageParameters.Flag(p, "preserve_data", Key) ?? false;
        var nonsparse = StorageParameters.Flag(p, "nonsparse", Key) ?? false;
        var autoClone = StorageParameters.Flag(p, "auto_clone", Key) ?? false;
        var mac = StorageParameters.Optional(p, "mac");
        IReadOnlyList<string>? files = null;
        if (StorageParameters.Optional(p, "file") is { } fileText)
        {
            var parsed = FileListFormat.Parse(fileText);
            files = parsed.Value ?? throw new RequestParameterException("file", $"{Key}.file is invalid: {string.Join(" ", parsed.Errors)}");
            if (autoClone)
            {
                throw new RequestParameterException("auto_clone", $"{Key}.auto_clone=true generates the disk paths, so it cannot be combined with {Key}.file.");
            }
        }

        if (preserve && files is null)
        {
            throw new RequestParameterException("preserve_data", $"{Key}.preserve_data=true uses the disks named by {Key}.file as they are, so file is required.");
        }

        var connection = host.Connection;
        using var source = host.TryLookup(name);
        if (source is null)
        {
            return VmHost.DomainMissing(context);
        }

        var uuid = CloneUuid(source.Uuid, clone);
        using (var existing = host.TryLookup(clone))
        {
            if (existing is not null)
            {
                if (context.Attempt > 1 && existing.Uuid == uuid)
                {
                    return VmHost.Succeeded(source, $"VM {name} was cloned to {clone} on node {node} (by an earlier attempt of this request).");
                }

                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"{Key} refused: a domain named {clone} already exists on node {node} (UUID {existing.Uuid}); choose another name. Nothing was changed.");
            }
        }

        VmDiskCopies.RequireShutOff(source, Key, name, node);
        var definition = XElement.Parse(source.GetXmlDesc(DomainXmlFlags.Inactive | DomainXmlFlags.Secure));
        var disks = VmDiskCopies.FileDisks(definition);
        if (files is not null && files.Count != disks.Count)
        {
            throw new RequestParameterException("file",
                $"{Key}.file names {files.Count} path(s), but VM {name} has {disks.Count} file disk(s) " +
                $"({string.Join(", ", disks.Select(d => $"{d.Target}={d.Path}"))}); give one path per disk, in this order.");
        }

        var targets = disks.Select((d, i) => SafePath.Resolve(files?[i] ?? DefaultDiskPath(d.Path, clone, d.Target))).ToList();
        if (targets.FirstOrDefault(t => disks.Any(d => d.Path == t)) is { } clash)
        {
            throw new RequestParameterException("file", $"{Key}.file {clash} is a disk of VM {name} itself; a clone needs its own files.");
        }

        var copies = new Dictionary<string, (string Path, string Format)>(StringComparer.Ordinal);
        var made = new List<string>();
        try
        {
            for (var i = 0; i < disks.Count; i++)
            {
                var disk = disks[i];
                var target = targets[i];
                if (preserve)
                {
                    if (!File.Exists(target))
                    {
                        throw new StorageRefusedException(ErrorClasses.VirtctlError,
                            $"{Key} with preserve_data=true needs the file {target} for disk {disk.Target} on node {node}, and it does not exist. Nothing was changed.");
                    }

                    var kept = await qemuImg.InfoAsync(target, cancellationToken: ct).ConfigureAwait(false);
                    copies[disk.Target] = (target, kept.Format);
                    continue;
                }

                var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: ct).ConfigureAwait(false);
                await VmDiskCopies.PlaceCopyAsync(qemuImg, info, target, info.Format, nonsparse, context.Attempt,
                    $"{Key} refused: the file {target} for disk {disk.Target} of clone {clone} already exists on node {node}; " +
                    "name another file or delete it. Nothing was changed.", ct).ConfigureAwait(false);
                made.Add(target);
                copies[disk.Target] = (target, info.Format);
            }

            VmDiskCopies.RetargetDisks(definition, copies);
            VmDiskCopies.Reidentify(definition, name, clone, uuid, mac);
            using var defined = connection.DefineXml(definition.ToString(SaveOptions.DisableFormatting));
        }
        catch (Exception ex) when (ex is not OperationCanceledException && made.Count > 0)
        {
            VmDiskCopies.DeleteQuietly(connection, made);
            VmDiskCopies.RefreshPoolsOf(connection, made.Select(m => Path.GetDirectoryName(m)!));
            throw;
        }

        VmDiskCopies.RefreshPoolsOf(connection, targets.Select(t => Path.GetDirectoryName(t)!));
        var what = preserve ? $"on the existing file(s) {string.Join(", ", targets)}" : $"with {made.Count} full disk copy(ies) ({string.Join(", ", made)})";
        return VmHost.Succeeded(source, $"VM {name} was cloned to {clone} (UUID {uuid}) on node {node} {what}; the clone is shut off." +
            ResultObjects.ApplyHint(Kinds.VirtualMachine, clone, node, " and no lifecycle request (the VM resync adopts the domain)"));
    }
}
