using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Xml;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>The seed's power-state strings written to spec.powerstate and status.powerState (docs/vm-lifecycle.md).</summary>
public static class PowerStates
{
    public const string Running = "Running";
    public const string Paused = "Paused";
    /// <summary>Shut off (libvirt VIR_DOMAIN_SHUTOFF): the seed calls a stopped VM "Shutdown".</summary>
    public const string Shutdown = "Shutdown";
    /// <summary>The guest is powering off (libvirt VIR_DOMAIN_SHUTDOWN).</summary>
    public const string ShuttingDown = "ShuttingDown";
    public const string Crashed = "Crashed";
    public const string PmSuspended = "PMSuspended";
    public const string NoState = "NoState";

    public static string Of(DomainState state) => state switch
    {
        DomainState.Running or DomainState.Blocked => Running,
        DomainState.Paused => Paused,
        DomainState.Shutoff => Shutdown,
        DomainState.Shutdown => ShuttingDown,
        DomainState.Crashed => Crashed,
        DomainState.PmSuspended => PmSuspended,
        _ => NoState,
    };

    /// <summary>True when the guest runs (or is blocked on I/O): what "running" means for start/stop/suspend.</summary>
    public static bool IsRunning(DomainState state) => state is DomainState.Running or DomainState.Blocked;
}

/// <summary>
/// What every VirtualMachine handler shares: the libvirt connection, the node's domain settings, reading the two
/// result views from the live domain, and turning libvirt errors into truthful failures. One domain per object: the
/// domain is named after the object (metadata.name).
/// </summary>
public sealed class VmHost
{
    private readonly LibvirtHost _libvirt;

    public VmHost(LibvirtHost libvirt, AgentOptions options)
    {
        _libvirt = libvirt ?? throw new ArgumentNullException(nameof(libvirt));
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    public AgentOptions Options { get; }

    public LibvirtConnection Connection => _libvirt.Connection;

    /// <summary>The node's contribution to every domain (type from configuration, never from /dev/kvm).</summary>
    public NodeDomainSettings NodeSettings => new(
        Options.DomainType == DomainType.Qemu ? "qemu" : "kvm",
        Options.Emulator,
        Options.Machine,
        SerialLogDirectory: Options.SerialLogDirectory);

    public LibvirtDomain? TryLookup(string name) => Connection.TryLookupDomainByName(name);

    /// <summary>
    /// The seed's views of a domain: spec.domain from the live XML (without VIR_DOMAIN_XML_SECURE, so libvirt leaves
    /// graphics passwords out) and the power state.
    /// </summary>
    public static ObservedState Observe(LibvirtDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var state = domain.GetState().State;
        var xml = domain.GetXmlDesc(DomainXmlFlags.None);
        return new ObservedState(LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain), PowerStates.Of(state));
    }

    /// <summary>Success with both views read from the domain now.</summary>
    public static HandlerResult Succeeded(LibvirtDomain domain, string message)
    {
        var observed = Observe(domain);
        return HandlerResult.Succeeded(observed.View, observed.PowerState, message);
    }

    /// <summary>
    /// Success after a call whose return fixes the state (virDomainSuspend → paused, virDomainResume → running,
    /// virDomainDestroy → shut off): spec.domain read from the domain now, the power state from <paramref name="state"/>
    /// (saves a virDomainGetState round trip).
    /// </summary>
    public static HandlerResult Succeeded(LibvirtDomain domain, DomainState state, string message)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var view = LibvirtXmlJson.ToJson(domain.GetXmlDesc(DomainXmlFlags.None), LibvirtDocument.Domain);
        return HandlerResult.Succeeded(view, PowerStates.Of(state), message);
    }

    /// <summary>libvirt refused: LibvirtError with libvirt's words; retryable when the connection failed.</summary>
    public static HandlerResult LibvirtFailed(LibvirtException ex, string what, RequestContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ex);
        ArgumentNullException.ThrowIfNull(ctx);
        return HandlerResult.Failed(ErrorClasses.LibvirtError,
            $"{what} VM {ctx.Name} on node {ctx.NodeName} failed: libvirt reported {ex.Code}: {ex.LibvirtMessage}",
            retryable: ex.IsRetryable);
    }

    /// <summary>The object has no domain on this node (undefined behind Kubernetes' back, or never created).</summary>
    public static HandlerResult DomainMissing(RequestContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        return HandlerResult.Failed(ErrorClasses.VirtletError,
            $"{ctx.Key} cannot run: VM {ctx.Name} has no libvirt domain named {ctx.Name} on node {ctx.NodeName} " +
            "(it was never created here or was removed outside KubeStack). Create it again with createAndStartVMFromISO or createAndStartVMFromImage.");
    }

    /// <summary>The seed's "wrong state" errors (starting a running VM, stopping a stopped one...).</summary>
    public static HandlerResult WrongState(RequestContext ctx, DomainState state, string what)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        return HandlerResult.Failed(ErrorClasses.LibvirtError,
            $"{ctx.Key} refused: VM {ctx.Name} on node {ctx.NodeName} is {PowerStates.Of(state)}; {what}");
    }
}
