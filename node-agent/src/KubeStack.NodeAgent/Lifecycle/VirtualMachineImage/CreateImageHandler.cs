using System.Xml.Linq;
using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

/// <summary>
/// createImage: makes the VM image named like the object in pool <c>targetPool</c> from the disk file <c>disk</c>
/// (resolved inside the allowed roots): a full, standalone qcow2 copy of the disk (its backing chain flattened) as
/// <c>&lt;image&gt;.vda</c> and a template definition booting from it (1 vCPU, 1024 MiB, VNC without a password, no NIC:
/// the NICs come with the VM made from it) as <c>&lt;image&gt;.xml</c>, both written under temporary names and renamed
/// (the template last, so the image exists only when complete). A source disk a running VM uses is refused (its content
/// is changing). An image made by convertVMToImage is registered as it is when <c>disk</c> is its own disk file.
/// </summary>
public sealed class CreateImageHandler(LibvirtHost libvirt, QemuImg qemuImg, VmHost host) : ILifecycleHandler
{
    /// <summary>The template's defaults (the disk says nothing about CPUs and memory).</summary>
    public const int TemplateMemoryMiB = 1024;

    public string Kind => Kinds.VirtualMachineImage;
    public string Key => "createImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating VM image {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    /// <summary>The template definition of an image made from one disk: pure, via the domain builder.</summary>
    public static XElement Template(string image, string diskPath, NodeDomainSettings node)
    {
        var parameters = new VmCreateParameters
        {
            Kind = VmCreateKind.FromImage,
            Graphics = new GraphicsSpec(GraphicsType.Vnc, "0.0.0.0", null),
            Disks = [new DiskSpec(diskPath, DiskDevice.Disk, "vda", null, DiskOperations.Format, false, false, null, null, null, null, null, null, null, null)],
            MemoryMiB = TemplateMemoryMiB,
            Nics = [],
            OsVariant = "generic",
            Vcpus = new VcpuSpec(1, 1, null, null),
        };
        return DomainXmlBuilder.Build(image, parameters, node).Document.Root!;
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var name = context.Name;
        var source = StorageParameters.RequiredPath(p, "disk", Key);
        var targetPool = StorageParameters.Required(p, "targetPool", Key);
        var connection = libvirt.Connection;
        var dir = DiskImageSteps.PoolDirectory(connection, targetPool, node);

        if (VmImageStore.TryRead(connection, targetPool, name, node) is { } existing)
        {
            if (existing.Disks.Any(d => d.Path == source))
            {
                return HandlerResult.Succeeded(VmImageStore.View(existing.Template),
                    message: $"VM image {name} in pool {targetPool} on node {node} ({existing.TemplatePath}) was registered as it is.");
            }

            if (context.Attempt > 1)
            {
                return HandlerResult.Succeeded(VmImageStore.View(existing.Template),
                    message: $"VM image {name} already exists in pool {targetPool} on node {node} (made by an earlier attempt of this request).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"A VM image named {name} already exists in pool {targetPool} on node {node} ({existing.TemplatePath}); choose another name. Nothing was changed.");
        }

        if (!File.Exists(source))
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError, $"{Key}.disk {source} does not exist on node {node}; nothing was created.");
        }

        var running = DiskVolumeSteps.RunningUsers(connection, source, "", "");
        if (running.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{Key} from {source} is refused on node {node}: VM {string.Join(", ", running)} is running on it, so its content is changing. " +
                "Stop the VM and submit the request again; nothing was created.");
        }

        var info = await qemuImg.InfoAsync(source, cancellationToken: ct).ConfigureAwait(false);
        var diskPath = SafePath.Resolve(Path.Combine(dir, VmImageStore.DiskName(name, "vda")));
        var made = false;
        if (File.Exists(diskPath))
        {
            if (context.Attempt == 1 || !await VmDiskCopies.IsCompleteCopyAsync(qemuImg, diskPath, info, DiskOperations.Format, ct).ConfigureAwait(false))
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"The file {diskPath} already exists on node {node} and is not part of a VM image {name}; remove it or choose another name. Nothing was changed.");
            }
        }
        else
        {
            await VmDiskCopies.CopyAsync(qemuImg, source, info.Format, diskPath, DiskOperations.Format, nonsparse: false, ct).ConfigureAwait(false);
            made = true;
        }

        var template = Template(name, diskPath, host.NodeSettings);
        try
        {
            await VmImageStore.WriteTemplateAsync(dir, name, template, ct).ConfigureAwait(false);
        }
        catch when (made || context.Attempt > 1)
        {
            VmDiskCopies.DeleteQuietly(connection, [diskPath]);
            throw;
        }

        VmDiskCopies.RefreshPoolsOf(connection, [dir]);
        return HandlerResult.Succeeded(VmImageStore.View(template),
            message: $"VM image {name} was created in pool {targetPool} on node {node} from {source} ({info.VirtualSize} bytes, template {VmImageStore.TemplateName(name)}).");
    }
}
