using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>What to do with the media of a CD-ROM drive (virsh change-media's --insert, --eject, --update).</summary>
public enum CdromAction
{
    /// <summary>Put media into an empty drive (a drive holding media is the seed's error).</summary>
    Insert,

    /// <summary>Empty the drive (an empty drive is the seed's error).</summary>
    Eject,

    /// <summary>Make the drive hold the given media whatever it holds now (converges).</summary>
    Update,
}

/// <summary>
/// The CD-ROM operations (manageISO, insertISO, ejectISO): one media change of one drive, live and/or persistently
/// (<see cref="VmChangeScope"/>), through virDomainUpdateDeviceFlags with the drive's XML from
/// <see cref="CdromDeviceXml"/>. Probes first (the drive's media in the live and inactive XML), changes only what
/// differs, and reads both back before it reports success.
/// </summary>
internal static class VmCdrom
{
    /// <summary>The frame of the CD-ROM handlers: <see cref="VmDeviceOperation"/> plus media paths outside the roots.</summary>
    public static Task<HandlerResult> RunAsync(RequestContext ctx, VmHost host, Func<LibvirtDomain, Task<HandlerResult>> operate) =>
        VmDeviceOperation.RunAsync(ctx, host, "Changing the CD-ROM media of", async domain =>
        {
            try
            {
                return await operate(domain).ConfigureAwait(false);
            }
            catch (CdromPathException ex)
            {
                return StorageFailures.UnsafePath(ex.Path, ex.Parameter, ctx.Key, ctx.NodeName);
            }
        });

    /// <summary>A CD-ROM drive as one XML shows it.</summary>
    public sealed record Drive(string Target, string Bus, string? Source);

    public static IReadOnlyList<Drive> Drives(XDocument xml) =>
        xml.Root?.Element("devices")?.Elements("disk")
            .Where(d => (string?)d.Attribute("device") == "cdrom")
            .Select(d => new Drive(
                (string?)d.Element("target")?.Attribute("dev") ?? string.Empty,
                (string?)d.Element("target")?.Attribute("bus") ?? "ide",
                VmDeviceOperation.SourceOf(d)))
            .ToList() ?? [];

    /// <summary>"hdc: /path/x.iso, hdd: empty" for messages.</summary>
    public static string Describe(IEnumerable<Drive> drives)
    {
        var text = string.Join(", ", drives.Select(d => $"{d.Target}: {d.Source ?? "empty"}"));
        return text.Length == 0 ? "none" : text;
    }

    /// <summary>A required boolean parameter that must be true for the operation to mean anything.</summary>
    public static void RequireTrue(RequestContext ctx, string key, string meaning)
    {
        if (StorageParameters.Flag(ctx.Parameters, key, ctx.Key) != true)
        {
            throw new RequestParameterException(key, $"{ctx.Key}.{key} must be true: {meaning}.");
        }
    }

    /// <summary>The ISO (or block device) path of a request, inside the allowed roots.</summary>
    public static string ResolveMedia(RequestContext ctx, string key)
    {
        var text = StorageParameters.Required(ctx.Parameters, key, ctx.Key);
        try
        {
            return SafePath.Resolve(text);
        }
        catch (UnsafePathException ex)
        {
            throw new CdromPathException(key, ex);
        }
    }

    /// <summary>
    /// Changes the media of drive <paramref name="target"/> in the scope the request asks for. <paramref name="source"/>
    /// is the media for Insert/Update (null for Eject).
    /// </summary>
    public static async Task<HandlerResult> ChangeAsync(RequestContext ctx, LibvirtDomain domain, string target, CdromAction action, string? source,
        bool block, bool force, CancellationToken ct)
    {
        var scope = VmChangeScope.Resolve(ctx, VmDeviceOperation.IsRunning(domain));
        var live = scope.Live ? Find(ctx, VmDeviceOperation.Live(domain), target, "running VM") : null;
        var config = scope.Config ? Find(ctx, VmDeviceOperation.Inactive(domain), target, "persistent definition of VM") : null;
        var wanted = action == CdromAction.Eject ? null : source;
        if (wanted is not null && !block && !File.Exists(wanted))
        {
            return HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"{ctx.Key} refused: the ISO file {wanted} does not exist on node {ctx.NodeName}. Upload it there first; drive {target} of VM {ctx.Name} was not changed.");
        }

        // The seed's rules (virsh change-media): insert needs an empty drive, eject needs media. A resumed attempt
        // (attempt > 1) whose change is already on the host is success; a half-done change (only live or only config)
        // is completed.
        var parts = new[] { live, config }.Where(d => d is not null).Select(d => d!).ToList();
        if (action == CdromAction.Insert)
        {
            var other = parts.FirstOrDefault(d => d.Source is not null && d.Source != wanted);
            if (other is not null || (ctx.Attempt == 1 && parts.All(d => d.Source == wanted)))
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"{ctx.Key} refused: CD-ROM drive {target} of VM {ctx.Name} on node {ctx.NodeName} already holds {(other ?? parts[0]).Source}. " +
                    "Eject it first (ejectISO, or manageISO eject=true), or replace it with manageISO update=true.");
            }
        }
        else if (action == CdromAction.Eject && ctx.Attempt == 1 && parts.All(d => d.Source is null))
        {
            return HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"{ctx.Key} refused: CD-ROM drive {target} of VM {ctx.Name} on node {ctx.NodeName} holds no media to eject.");
        }

        var flags = (live is not null && live.Source != wanted ? DomainModificationFlags.Live : 0)
                    | (config is not null && config.Source != wanted ? DomainModificationFlags.Config : 0);
        if (flags != 0)
        {
            var bus = (live ?? config)!.Bus;
            var xml = CdromDeviceXml.BuildString(new CdromMediaSpec(target, bus, wanted, block));
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    domain.UpdateDeviceFlags(xml, flags | (force ? DomainModificationFlags.Force : 0));
                    break;
                }
                catch (LibvirtException ex) when (attempt < TrayAttempts && IsTrayBusy(ex))
                {
                    // Right after a start the firmware (SeaBIOS) probes the drive and QEMU does not open the tray for
                    // libvirt; it settles within a second or two. Nothing changed: try again.
                    await Task.Delay(TrayRetryDelay, ct).ConfigureAwait(false);
                }
            }
        }

        if (scope.Live && Drives(VmDeviceOperation.Live(domain)).FirstOrDefault(d => d.Target == target) is var nowLive && nowLive?.Source != wanted)
        {
            return VmDeviceOperation.NotApplied(ctx, $"the running domain's drive {target} holds {nowLive?.Source ?? "no media"}, not {wanted ?? "no media"}");
        }

        if (scope.Config && Drives(VmDeviceOperation.Inactive(domain)).FirstOrDefault(d => d.Target == target) is var nowConfig && nowConfig?.Source != wanted)
        {
            return VmDeviceOperation.NotApplied(ctx, $"the persistent definition's drive {target} holds {nowConfig?.Source ?? "no media"}, not {wanted ?? "no media"}");
        }

        var what = wanted is null ? $"CD-ROM drive {target} of VM {ctx.Name} is empty" : $"CD-ROM drive {target} of VM {ctx.Name} holds {wanted}";
        var earlier = flags == 0 ? " (nothing to change: it already was)" : string.Empty;
        return VmHost.Succeeded(domain, $"{what} on node {ctx.NodeName}, {scope.Describe()}{earlier}.");
    }

    private const int TrayAttempts = 10;
    private static readonly TimeSpan TrayRetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>QEMU refused the media change because the tray did not open ("Tray of the device is not open").</summary>
    private static bool IsTrayBusy(LibvirtException ex) =>
        ex.LibvirtMessage.Contains("Tray of the device is not open", StringComparison.Ordinal);

    private static Drive Find(RequestContext ctx, XDocument xml, string target, string where)
    {
        var drives = Drives(xml);
        if (drives.FirstOrDefault(d => d.Target == target) is { } drive)
        {
            return drive;
        }

        var isDisk = VmDeviceOperation.Disk(xml, target) is not null;
        throw new VmStateException(
            $"{ctx.Key} refused: the {where} {ctx.Name} on node {ctx.NodeName} has no CD-ROM drive {target}" +
            (isDisk ? $" ({target} is a disk, not a CD-ROM)" : string.Empty) +
            $"; its CD-ROM drives: {Describe(drives)}. Add one with plugDisk type=cdrom.");
    }
}

/// <summary>A CD-ROM media path outside the allowed roots (reported with its parameter name).</summary>
internal sealed class CdromPathException(string parameter, UnsafePathException inner) : Exception(inner.Message, inner)
{
    public string Parameter { get; } = parameter;
    public UnsafePathException Path { get; } = inner;
}
