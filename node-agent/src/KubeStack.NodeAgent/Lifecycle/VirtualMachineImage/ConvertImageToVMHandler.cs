using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

/// <summary>
/// convertImageToVM: the reverse of convertVMToImage — the VM image named like the object becomes the (shut-off) VM of
/// the same name. Each image disk is copied in full into pool <c>targetPool</c> as <c>&lt;name&gt;-&lt;target&gt;</c>
/// (temporary name, then rename), the template is defined as a domain on those copies (its UUID and MACs kept: it is the
/// same machine), then the image's files are deleted. A failure removes the copies this request made and leaves the
/// image as it was. Refused while something backs onto the image, or when a domain of that name exists. A resumed
/// attempt that finds the domain it defined finishes the image's removal.
/// </summary>
public sealed class ConvertImageToVMHandler(LibvirtHost libvirt, QemuImg qemuImg, VmHost host) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineImage;
    public string Key => "convertImageToVM";

    /// <summary>The file name of disk <paramref name="target"/> of a VM made from an image.</summary>
    public static string VmDiskName(string vm, string target) => $"{vm}-{target}";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Converting VM image {context.Name} into a VM", Key, context.NodeName, () => ConvertAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> ConvertAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var name = context.Name;
        var targetPool = StorageParameters.Required(context.Parameters, "targetPool", Key);
        var connection = libvirt.Connection;
        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);
        var image = VmImageStore.Find(connection, name, null, node);
        using var existing = host.TryLookup(name);
        if (image is null)
        {
            if (existing is not null && context.Attempt > 1)
            {
                return VmHost.Succeeded(existing, $"VM image {name} was converted into VM {name} on node {node} (by an earlier attempt of this request).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"There is no VM image {name} in any active pool on node {node}; create it (createImage or convertVMToImage) first. Nothing was changed.");
        }

        if (existing is not null)
        {
            if (context.Attempt > 1 && existing.Uuid.ToString("D") == (string?)image.Template.Element("uuid") &&
                !VmDiskCopies.FileDisks(XElement.Parse(existing.GetXmlDesc(DomainXmlFlags.Inactive))).Any(d => image.Disks.Any(i => i.Path == d.Path)))
            {
                VmImageStore.Delete(connection, image);
                return VmHost.Succeeded(existing, $"VM image {name} was converted into VM {name} on node {node}; its image files were removed.");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{Key} refused: a domain named {name} already exists on node {node} (UUID {existing.Uuid}); delete it or convert the image " +
                "under another name. Nothing was changed.");
        }

        var users = await VmImageStore.UsersAsync(connection, qemuImg, image, ct).ConfigureAwait(false);
        if (users.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{Key} refused: VM image {name} on node {node} is still used by {string.Join(", ", users)}, so its files cannot go. Nothing was changed.");
        }

        var copies = new Dictionary<string, (string Path, string Format)>(StringComparer.Ordinal);
        var made = new List<string>();
        try
        {
            foreach (var disk in image.Disks)
            {
                var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: ct).ConfigureAwait(false);
                var path = SafePath.Resolve(Path.Combine(dir, VmDiskName(name, disk.Target)));
                await VmDiskCopies.PlaceCopyAsync(qemuImg, info, path, DiskOperations.Format, nonsparse: false, context.Attempt,
                    $"{Key} refused: the file {path} for disk {disk.Target} of VM {name} already exists on node {node}; remove it or use another targetPool.",
                    ct).ConfigureAwait(false);
                made.Add(path);
                copies[disk.Target] = (path, DiskOperations.Format);
            }

            var definition = new XElement(image.Template);
            VmDiskCopies.RetargetDisks(definition, copies);
            using var domain = connection.DefineXml(definition.ToString(SaveOptions.DisableFormatting));
            VmImageStore.Delete(connection, image);
            VmDiskCopies.RefreshPoolsOf(connection, [dir]);
            return VmHost.Succeeded(domain,
                $"VM image {name} was converted into VM {name} on node {node}: {made.Count} disk(s) copied into pool {targetPool}, the VM is shut off, the image files were removed.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException && made.Count > 0 && !DomainExists(name))
        {
            VmDiskCopies.DeleteQuietly(connection, made);
            VmDiskCopies.RefreshPoolsOf(connection, [dir]);
            throw;
        }
    }

    private bool DomainExists(string name)
    {
        using var domain = host.TryLookup(name);
        return domain is not null;
    }
}
