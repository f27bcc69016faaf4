using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// updateOS: replaces the operating system of a shut-off VM (the seed's rule): <c>source</c> is the VM's system disk
/// to be replaced (a disk of the VM), <c>target</c> the template image whose content becomes the new system disk
/// (docs/vm-devices.md, "updateOS"). Safe order, nothing lost on failure:
/// <list type="number">
/// <item>the new disk is made beside the old one (<c>&lt;source&gt;.updateos-new</c>: <c>qemu-img convert</c> of the
/// template into the disk's format, a standalone image, grown to the old virtual size when the template is smaller);</item>
/// <item>swap by two renames in the same directory: old → <c>&lt;source&gt;.updateos-old</c>, new → <c>source</c>
/// (the definition keeps its path, so the VM and every object that names the path stay valid);</item>
/// <item>only then is the old disk removed.</item>
/// </list>
/// A failure before the swap removes the half-made new disk and leaves the old one untouched; a crash between the
/// renames is completed (or rolled back) by the resumed attempt, which finds the files by their fixed names.
/// A VM with snapshots is refused (they describe the old disk).
/// </summary>
public sealed class UpdateOSHandler(VmHost host, QemuImg qemuImg) : ILifecycleHandler
{
    public const string NewSuffix = ".updateos-new";
    public const string OldSuffix = ".updateos-old";

    public string Kind => Kinds.VirtualMachine;
    public string Key => "updateOS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Replacing the operating system of", async domain =>
        {
            var (source, template) = (Resolve(context, "source"), Resolve(context, "target"));
            if (domain.IsActive())
            {
                return VmHost.WrongState(context, domain.GetState().State, "updateOS needs a shut-off VM (stop it with stopVM first).");
            }

            var disks = (VmDeviceOperation.Inactive(domain).Root?.Element("devices")?.Elements("disk") ?? [])
                .Where(d => (string?)d.Attribute("device") == "disk").ToList();
            var disk = disks.FirstOrDefault(d => VmDeviceOperation.SourceOf(d) == source);
            if (disk is null)
            {
                var list = string.Join(", ", disks.Select(d => $"{(string?)d.Element("target")?.Attribute("dev")}: {VmDeviceOperation.SourceOf(d)}"));
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"updateOS refused: VM {context.Name} on node {context.NodeName} has no disk {source} (its disks: {(list.Length == 0 ? "none" : list)}). Nothing was changed.");
            }

            if (source == template)
            {
                throw new RequestParameterException("target", "updateOS.target must be a template image other than the VM's disk (source).");
            }

            var snapshots = domain.ListAllSnapshots();
            foreach (var s in snapshots)
            {
                s.Dispose();
            }

            if (snapshots.Count > 0)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"updateOS refused: VM {context.Name} on node {context.NodeName} has {snapshots.Count} snapshot(s), which describe the old system disk. " +
                    "Delete them first; nothing was changed.");
            }

            var format = (string?)disk.Element("driver")?.Attribute("type") ?? "raw";
            try
            {
                await ReplaceAsync(source, template, format, cancellationToken).ConfigureAwait(false);
            }
            catch (HostToolException ex)
            {
                return HandlerResult.Failed(ErrorClasses.Exception,
                    $"updateOS on VM {context.Name} on node {context.NodeName} failed: {ex.Message} The old system disk {source} is unchanged.");
            }
            catch (TemplateMissingException ex)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError, $"updateOS refused on node {context.NodeName}: {ex.Message} Nothing was changed.");
            }

            var info = await qemuImg.InfoAsync(source, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (info.Format != format || info.BackingFilename is not null || File.Exists(source + NewSuffix) || File.Exists(source + OldSuffix))
            {
                return VmDeviceOperation.NotApplied(context, $"{source} is not a standalone {format} image after the swap");
            }

            if (VmDeviceOperation.Disk(VmDeviceOperation.Inactive(domain), (string?)disk.Element("target")?.Attribute("dev") ?? string.Empty) is not { } after
                || VmDeviceOperation.SourceOf(after) != source)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition no longer uses {source}");
            }

            return VmHost.Succeeded(domain,
                $"The system disk {source} of VM {context.Name} on node {context.NodeName} now holds a fresh copy of {template} ({format}, {info.VirtualSize} bytes); the old disk was removed.");
        });

    /// <summary>Resumes a crashed swap, then makes the new disk, swaps, and removes the old one.</summary>
    private async Task ReplaceAsync(string source, string template, string format, CancellationToken ct)
    {
        var fresh = source + NewSuffix;
        var old = source + OldSuffix;
        if (File.Exists(old))
        {
            // A crash inside the swap: complete it when the new disk is there, else put the old one back and redo.
            if (!File.Exists(source))
            {
                File.Move(File.Exists(fresh) ? fresh : old, source);
            }

            if (File.Exists(old) && File.Exists(source))
            {
                File.Delete(old);
                return;
            }
        }

        if (!File.Exists(template))
        {
            throw new TemplateMissingException($"the template image {template} (updateOS.target) does not exist.");
        }

        File.Delete(fresh);
        try
        {
            var before = await qemuImg.InfoAsync(source, cancellationToken: ct).ConfigureAwait(false);
            await qemuImg.ConvertAsync(template, fresh, format, cancellationToken: ct).ConfigureAwait(false);
            var made = await qemuImg.InfoAsync(fresh, cancellationToken: ct).ConfigureAwait(false);
            if (made.VirtualSize < before.VirtualSize)
            {
                await qemuImg.ResizeAsync(fresh, before.VirtualSize, format: format, cancellationToken: ct).ConfigureAwait(false);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(fresh, File.GetUnixFileMode(source));
            }
        }
        catch
        {
            File.Delete(fresh);
            throw;
        }

        File.Move(source, old);
        try
        {
            File.Move(fresh, source);
        }
        catch
        {
            File.Move(old, source);
            File.Delete(fresh);
            throw;
        }

        File.Delete(old);
    }

    private static string Resolve(RequestContext ctx, string key)
    {
        var text = StorageParameters.Required(ctx.Parameters, key, ctx.Key);
        try
        {
            return SafePath.Resolve(text);
        }
        catch (UnsafePathException ex)
        {
            throw new RequestParameterException(key, $"updateOS.{key} is refused: the path '{ex.Path}' {ex.Reason}; use a path inside the allowed directories.");
        }
    }

    private sealed class TemplateMissingException(string message) : Exception(message);
}
