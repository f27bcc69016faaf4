using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// resizeVM: grows the VM's disk at <c>path</c> (one of its file disks, usually the system disk) to <c>size</c> KiB
/// (decision <c>size-units</c>). Running or paused VM: live, <c>virDomainBlockResize</c>, so the guest sees the new size
/// at once; shut off: <c>qemu-img resize</c> of the file. Grow only: a smaller size is refused (VirtctlError naming
/// resizeVM.size; shrinking cuts off guest data and the catalog does not allow it), the current size is refused on a
/// first attempt and success on a resumed one. The new size is read back from the file before success is reported.
/// </summary>
public sealed class ResizeVMHandler(VmHost host, QemuImg qemuImg) : ILifecycleHandler
{
    /// <summary>The catalog's range of <c>size</c> (KiB).</summary>
    public const long MinSizeKiB = 1_000_000;
    public const long MaxSizeKiB = 999_999_999_999;

    public string Kind => Kinds.VirtualMachine;
    public string Key => "resizeVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Resizing a disk of VM {context.Name}", Key, context.NodeName, () => ResizeAsync(context, cancellationToken));
    }

    /// <summary><c>size</c> in KiB (thousands separators accepted) within the catalog's range, as bytes.</summary>
    public static long SizeBytes(string text)
    {
        if (!ParameterValues.TryParseInteger(text, out var kib))
        {
            throw new RequestParameterException("size", $"resizeVM.size must be a whole number of KiB (e.g. 10485760 for 10 GiB), not '{text}'.");
        }

        if (kib is < MinSizeKiB or > MaxSizeKiB)
        {
            throw new RequestParameterException("size", $"resizeVM.size must be from {MinSizeKiB} to {MaxSizeKiB} KiB, not {kib}.");
        }

        return kib * 1024;
    }

    private async Task<HandlerResult> ResizeAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var name = context.Name;
        var path = SafePath.Resolve(StorageParameters.Required(context.Parameters, "path", Key));
        var bytes = SizeBytes(StorageParameters.Required(context.Parameters, "size", Key));
        using var domain = host.TryLookup(name);
        if (domain is null)
        {
            return VmHost.DomainMissing(context);
        }

        var live = domain.IsActive();
        var disks = VmDiskCopies.FileDisks(XElement.Parse(domain.GetXmlDesc(live ? DomainXmlFlags.None : DomainXmlFlags.Inactive)));
        var disk = disks.FirstOrDefault(d => d.Path == path || SafePath.TryResolve(d.Path).FullPath == path) ?? throw new RequestParameterException("path",
            $"{Key}.path {path} is not a disk of VM {name} on node {node} (its disks: {string.Join(", ", disks.Select(d => $"{d.Target}={d.Path}"))}).");

        var before = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        if (bytes < before.VirtualSize)
        {
            throw new RequestParameterException("size",
                $"{Key}.size {bytes / 1024} KiB ({bytes} bytes) is smaller than disk {disk.Target} of VM {name} ({before.VirtualSize} bytes); " +
                "shrinking a disk cuts off guest data and is not allowed. Give a larger size.");
        }

        if (bytes == before.VirtualSize)
        {
            if (context.Attempt > 1)
            {
                return VmHost.Succeeded(domain, $"Disk {disk.Target} of VM {name} on node {node} already has {bytes} bytes (resized by an earlier attempt of this request).");
            }

            throw new RequestParameterException("size",
                $"{Key}.size {bytes / 1024} KiB is the current size of disk {disk.Target} of VM {name}; resizeVM grows a disk, so give a larger size.");
        }

        if (live)
        {
            domain.BlockResize(disk.Target, (ulong)bytes);
        }
        else
        {
            await qemuImg.ResizeAsync(path, bytes, format: before.Format, cancellationToken: ct).ConfigureAwait(false);
        }

        var after = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
        if (after.VirtualSize != bytes)
        {
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"Disk {disk.Target} of VM {name} on node {node} reports {after.VirtualSize} bytes after resizing to {bytes}; check the file {path}.");
        }

        var how = live ? "live (virDomainBlockResize; the guest sees it now)" : "offline (qemu-img resize)";
        return VmHost.Succeeded(domain, $"Disk {disk.Target} of VM {name} on node {node} was grown from {before.VirtualSize} to {bytes} bytes {how}.");
    }
}
