using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>Where a device/configuration change applies: the running domain, the persistent definition, or both.</summary>
public readonly record struct VmChangeScope(bool Live, bool Config)
{
    public DomainModificationFlags ModificationFlags =>
        (Live ? DomainModificationFlags.Live : 0) | (Config ? DomainModificationFlags.Config : 0);

    public DomainVcpuFlags VcpuFlags => (Live ? DomainVcpuFlags.Live : 0) | (Config ? DomainVcpuFlags.Config : 0);

    public DomainMemoryFlags MemoryFlags => (Live ? DomainMemoryFlags.Live : 0) | (Config ? DomainMemoryFlags.Config : 0);

    public string Describe() => (Live, Config) switch
    {
        (true, true) => "live and persistently",
        (true, false) => "live only (lost at the next start)",
        _ => "persistently (from the next start)",
    };

    /// <summary>
    /// The seed's flags (virsh): <c>live</c> (or <c>hotpluggable</c>) → the running domain; <c>config</c> or
    /// <c>persistent</c> → the definition; <c>current</c> → whichever the domain is now. None given: both for a running
    /// VM, the definition for a stopped one (docs/vm-devices.md). <c>live</c> on a stopped VM is refused.
    /// </summary>
    public static VmChangeScope Resolve(RequestContext ctx, bool running, params string[] liveAliases)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var p = ctx.Parameters;
        var live = StorageParameters.Flag(p, "live", ctx.Key) == true
                   || liveAliases.Any(a => StorageParameters.Flag(p, a, ctx.Key) == true);
        var config = StorageParameters.Flag(p, "config", ctx.Key) == true || StorageParameters.Flag(p, "persistent", ctx.Key) == true;
        var current = StorageParameters.Flag(p, "current", ctx.Key) == true;
        if (current && (live || config))
        {
            throw new RequestParameterException("current",
                $"{ctx.Key}.current cannot be combined with live or config (virsh refuses the mix too).");
        }

        if (live && !running)
        {
            throw new VmStateException($"{ctx.Key} refused: {ctx.Key}.live=true needs a running VM, but VM {ctx.Name} on node {ctx.NodeName} is not running. Use config=true to change the definition.");
        }

        if (current)
        {
            return running ? new VmChangeScope(true, false) : new VmChangeScope(false, true);
        }

        if (!live && !config)
        {
            return new VmChangeScope(running, true);
        }

        return new VmChangeScope(live, config);
    }
}

/// <summary>The VM is in a state where the request cannot run (a LibvirtError, as libvirt itself would refuse).</summary>
public sealed class VmStateException(string message) : Exception(message);

/// <summary>
/// The frame of the device/configuration operations (docs/vm-devices.md): look the domain up (missing →
/// VirtletError), run the operation, and map parameter problems (VirtctlError), wrong states and libvirt refusals
/// (LibvirtError). Every operation reads the live and/or inactive XML back before it reports success.
/// </summary>
internal static class VmDeviceOperation
{
    public static Task<HandlerResult> RunAsync(RequestContext ctx, VmHost host, string verb,
        Func<LibvirtDomain, HandlerResult> operate) =>
        RunAsync(ctx, host, verb, d => Task.FromResult(operate(d)));

    public static async Task<HandlerResult> RunAsync(RequestContext ctx, VmHost host, string verb,
        Func<LibvirtDomain, Task<HandlerResult>> operate)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            using var domain = host.TryLookup(ctx.Name);
            if (domain is null)
            {
                return VmHost.DomainMissing(ctx);
            }

            return await operate(domain).ConfigureAwait(false);
        }
        catch (RequestParameterException ex)
        {
            return StorageFailures.Parameter(ex, ctx.NodeName);
        }
        catch (UnsafePathException ex)
        {
            return StorageFailures.UnsafePath(ex, "source", ctx.Key, ctx.NodeName);
        }
        catch (VmStateException ex)
        {
            return HandlerResult.Failed(ErrorClasses.LibvirtError, ex.Message);
        }
        catch (LibvirtException ex)
        {
            return VmHost.LibvirtFailed(ex, verb, ctx);
        }
    }

    public static bool IsRunning(LibvirtDomain domain) => domain.IsActive();

    public static XDocument Live(LibvirtDomain domain) => XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.None));

    public static XDocument Inactive(LibvirtDomain domain) => XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive));

    /// <summary>The inactive definition WITH secrets (graphics passwords), only for redefining: never log or return it.</summary>
    public static XDocument InactiveForRedefine(LibvirtDomain domain) =>
        XDocument.Parse(domain.GetXmlDesc(DomainXmlFlags.Inactive | DomainXmlFlags.Secure));

    /// <summary>The disk element with target dev=<paramref name="target"/>, or null.</summary>
    public static XElement? Disk(XDocument xml, string target) =>
        xml.Root?.Element("devices")?.Elements("disk")
            .FirstOrDefault(d => (string?)d.Element("target")?.Attribute("dev") == target);

    public static string? SourceOf(XElement disk) =>
        (string?)disk.Element("source")?.Attribute("file") ?? (string?)disk.Element("source")?.Attribute("dev");

    /// <summary>The host refused or ignored the change: what we read back differs from what was asked.</summary>
    public static HandlerResult NotApplied(RequestContext ctx, string what) =>
        HandlerResult.Failed(ErrorClasses.VirtletError,
            $"{ctx.Key} on VM {ctx.Name} on node {ctx.NodeName}: libvirt accepted the call but {what}. Check the domain with virsh dumpxml.");

    /// <summary>A required integer parameter within [min, max].</summary>
    public static long Integer(JsonObject parameters, string key, string operation, long min, long max, string unit)
    {
        var text = StorageParameters.Required(parameters, key, operation);
        if (!ParameterValues.TryParseInteger(text, out var value) || value < min || value > max)
        {
            throw new RequestParameterException(key, $"{operation}.{key} must be a whole number of {unit} from {min} to {max}, not '{text}'.");
        }

        return value;
    }
}
