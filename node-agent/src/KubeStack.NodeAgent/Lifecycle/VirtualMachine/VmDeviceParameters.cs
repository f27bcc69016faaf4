using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// Parameter readers and shared steps of plugNIC/unplugNIC, the QoS, guest-credential and passthrough operations
/// (docs/vm-devices.md). Parameter problems throw <see cref="RequestParameterException"/> (VirtctlError through
/// <see cref="VmDeviceOperation"/>): they are the backstop of admission's checks.
/// </summary>
internal static class VmDeviceParameters
{
    /// <summary>How long the guest gets to release a device on a live detach (the same bound as unplugDisk).</summary>
    public static TimeSpan LiveDetachTimeout => UnplugDiskHandler.LiveDetachTimeout;

    public static string Enum(JsonObject p, string key, string op, params string[] allowed)
    {
        var value = StorageParameters.Required(p, key, op);
        return allowed.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new RequestParameterException(key, $"{op}.{key} must be one of {string.Join(", ", allowed)}, not '{value}'.");
    }

    /// <summary>A unicast MAC address xx:xx:xx:xx:xx:xx not starting with fe (the catalog's mac-rule), lower-cased.</summary>
    public static string Mac(JsonObject p, string key, string op)
    {
        var value = StorageParameters.Required(p, key, op);
        if (!NetworkFormats.TryParseMac(value, out var octets))
        {
            throw new RequestParameterException(key, $"{op}.{key} must be a MAC address xx:xx:xx:xx:xx:xx (hexadecimal), not '{value}'.");
        }

        if (octets[0] == 0xfe || (octets[0] & 1) == 1 || octets.All(o => o == 0))
        {
            throw new RequestParameterException(key,
                $"{op}.{key} {value} is not usable for a NIC: it must be unicast, not all zero and not start with fe (libvirt reserves fe: for host-side tap devices).");
        }

        return value.ToLowerInvariant();
    }

    /// <summary>An optional whole number within [min, max], or null.</summary>
    public static long? OptionalInteger(JsonObject p, string key, string op, long min, long max, string unit) =>
        StorageParameters.Optional(p, key) is null ? null : VmDeviceOperation.Integer(p, key, op, min, max, unit);

    /// <summary>Waits (bounded) until <paramref name="gone"/> reports the device left the live domain.</summary>
    public static async Task<bool> WaitUntilGoneAsync(Func<bool> gone, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (!gone())
        {
            if (sw.Elapsed > LiveDetachTimeout) return false;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>The "guest did not release" failure of a live detach.</summary>
    public static HandlerResult NotReleased(RequestContext ctx, string what, bool removedFromConfig) =>
        HandlerResult.Failed(ErrorClasses.LibvirtError,
            $"{ctx.Key}: the guest of VM {ctx.Name} on node {ctx.NodeName} did not release {what} within {LiveDetachTimeout.TotalSeconds:0} s " +
            "(a live detach needs the guest's cooperation: is it booted and does it handle ACPI hot-unplug?)." +
            (removedFromConfig ? " It was removed from the persistent definition." : string.Empty));

    /// <summary>Runs an OVS/OVN step of a VM operation, mapping its refusals like the network handlers do.</summary>
    public static async Task<HandlerResult?> NetworkStepAsync(RequestContext ctx, string what, Func<Task> step)
    {
        try
        {
            await step().ConfigureAwait(false);
            return null;
        }
        catch (NetworkRefusedException ex)
        {
            return HandlerResult.Failed(ex.ErrorClass, $"{ctx.Key} on VM {ctx.Name} was refused on node {ctx.NodeName}: {ex.Message}");
        }
        catch (HostToolException ex) when (ex.IsToolMissing)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{ctx.Key} on VM {ctx.Name} cannot {what} on node {ctx.NodeName}: {ex.Tool} is not installed (install openvswitch-switch and ovn-host, or run lab/lab-up.sh ovs ovn).");
        }
        catch (HostToolException ex)
        {
            return HandlerResult.Failed(ErrorClasses.Exception,
                $"{ctx.Key} on VM {ctx.Name} could not {what} on node {ctx.NodeName}: {ex.Message}. Check that ovsdb-server/ovs-vswitchd and the OVN databases run.");
        }
    }

    /// <summary>The live XML when the scope includes the running domain, else null.</summary>
    public static XDocument? LiveIf(bool live, LibvirtDomain domain) => live ? VmDeviceOperation.Live(domain) : null;

    /// <summary>The inactive XML when the scope includes the definition, else null.</summary>
    public static XDocument? InactiveIf(bool config, LibvirtDomain domain) => config ? VmDeviceOperation.Inactive(domain) : null;
}
