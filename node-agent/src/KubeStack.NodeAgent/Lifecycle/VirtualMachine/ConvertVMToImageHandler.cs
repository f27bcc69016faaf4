using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// convertVMToImage (decision <c>convertvm-to-image</c>, docs/decisions.md): the shut-off VM stops being a VM and
/// becomes the VM image of the same name in pool <c>targetPool</c>. Each file disk is copied in full (backing chain
/// flattened) to <c>&lt;name&gt;.&lt;target&gt;</c>, the persistent definition pointed at those copies is written as the
/// image's template <c>&lt;name&gt;.xml</c> (last, via a temporary name), then the domain is undefined. The VM's own disk
/// files are kept (they may belong to VirtualMachineDisk objects; deleteVM keeps them too). Refused unless the VM is shut
/// off, and while it has libvirt snapshots. A failure removes what this request made and leaves the VM as it was; a
/// resumed attempt finishes from what is on the host. spec.domain and spec.powerstate of the object are cleared (there is
/// no domain any more); register the image with a VirtualMachineImage createImage whose disk is the image's own file.
/// </summary>
public sealed class ConvertVMToImageHandler(VmHost host, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachine;
    public string Key => "convertVMToImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Converting VM {context.Name} into a VM image", Key, context.NodeName, () => ConvertAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> ConvertAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var name = context.Name;
        var targetPool = StorageParameters.Required(context.Parameters, "targetPool", Key);
        var connection = host.Connection;
        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);
        var image = VmImageStore.TryRead(connection, targetPool, name, node);
        using var domain = host.TryLookup(name);
        if (domain is null)
        {
            if (image is not null && context.Attempt > 1)
            {
                return Converted(name, targetPool, node, image.Disks.Count, "by an earlier attempt of this request");
            }

            return VmHost.DomainMissing(context);
        }

        var resumedImage = image is not null && context.Attempt > 1 && (string?)image.Template.Element("uuid") == domain.Uuid.ToString("D");
        if (image is not null && !resumedImage)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{Key} refused: a VM image named {name} already exists in pool {targetPool} on node {node} ({image.TemplatePath}); " +
                "delete it (deleteImage) or use another pool. Nothing was changed.");
        }

        VmDiskCopies.RequireShutOff(domain, Key, name, node);
        if (domain.ListAllSnapshots().Count is > 0 and var snapshots)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{Key} refused: VM {name} on node {node} has {snapshots} snapshot(s), which an image cannot carry; delete or merge them first. Nothing was changed.");
        }

        var made = new List<string>();
        try
        {
            if (!resumedImage)
            {
                var definition = XElement.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive | DomainXmlFlags.Secure));
                var disks = VmDiskCopies.FileDisks(definition);
                if (disks.Count == 0)
                {
                    throw new StorageRefusedException(ErrorClasses.VirtctlError,
                        $"{Key} refused: VM {name} on node {node} has no file-backed disk to make an image of. Nothing was changed.");
                }

                var copies = new Dictionary<string, (string Path, string Format)>(StringComparer.Ordinal);
                foreach (var disk in disks)
                {
                    var info = await qemuImg.InfoAsync(disk.Path, cancellationToken: ct).ConfigureAwait(false);
                    var path = SafePath.Resolve(Path.Combine(dir, VmImageStore.DiskName(name, disk.Target)));
                    await VmDiskCopies.PlaceCopyAsync(qemuImg, info, path, DiskOperations.Format, nonsparse: false, context.Attempt,
                        $"{Key} refused: the file {path} for disk {disk.Target} of the image already exists on node {node}; remove it or use another targetPool.",
                        ct).ConfigureAwait(false);
                    made.Add(path);
                    copies[disk.Target] = (path, DiskOperations.Format);
                }

                VmDiskCopies.RetargetDisks(definition, copies);
                made.Add(await VmImageStore.WriteTemplateAsync(dir, name, definition, ct).ConfigureAwait(false));
                image = VmImageStore.TryRead(connection, targetPool, name, node)!;
            }

            domain.Undefine(DomainUndefineFlags.ManagedSave | DomainUndefineFlags.KeepNvram);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && made.Count > 0)
        {
            VmDiskCopies.DeleteQuietly(connection, made);
            VmDiskCopies.RefreshPoolsOf(connection, [dir]);
            throw;
        }

        VmDiskCopies.RefreshPoolsOf(connection, [dir]);
        return Converted(name, targetPool, node, image!.Disks.Count, "now");
    }

    private static HandlerResult Converted(string name, string pool, string node, int disks, string when) =>
        HandlerResult.Succeeded(
            message: $"VM {name} on node {node} was converted into VM image {name} in pool {pool} ({when}): {disks} disk(s) copied, template " +
                     $"{VmImageStore.TemplateName(name)}; the domain was undefined and the VM's own disk files were kept." +
                     ResultObjects.ApplyHint(Kinds.VirtualMachineImage, name, node,
                         $" whose createImage names the image's own disk (disk=<directory of pool {pool}>/{name}.vda, targetPool={pool}): that registers this image without copying it"),
            extraSpec: new JsonObject { ["domain"] = null, ["powerstate"] = null });
}
