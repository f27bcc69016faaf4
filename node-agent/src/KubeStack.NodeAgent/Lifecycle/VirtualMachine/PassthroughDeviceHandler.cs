using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// passthroughDevice: adds or removes a host PCI function (<c>bus_num:sub_bus_num.dev_num</c>, hex as lspci prints them)
/// or USB device (bus and device number, decimal as lsusb prints them) as a managed <c>&lt;hostdev&gt;</c>
/// (<see cref="HostDeviceXml"/>), live (<c>live=true</c>, or no flag on a running VM) and persistently. add probes the
/// host first: a device missing from sysfs is a LibvirtError naming it (libvirt itself would only notice at the next
/// start for a definition-only change); a present device is handed to libvirt, whose refusal (no IOMMU/VFIO, device
/// busy) is a LibvirtError with libvirt's words. Read back from the live/inactive XML.
/// </summary>
public sealed class PassthroughDeviceHandler(VmHost host) : ILifecycleHandler
{
    /// <summary>Where the host's devices are listed (tests may point elsewhere).</summary>
    public static string SysfsRoot { get; set; } = "/sys";

    public string Kind => Kinds.VirtualMachine;
    public string Key => "passthroughDevice";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Passing a host device through to", async domain =>
        {
            var action = VmDeviceParameters.Enum(context.Parameters, "action", Key, "add", "remove");
            var address = Address(context);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var live = scope.Live ? HostDeviceXml.Find(VmDeviceOperation.Live(domain), address) : null;
            var config = scope.Config ? HostDeviceXml.Find(VmDeviceOperation.Inactive(domain), address) : null;
            try
            {
                return action == "add"
                    ? Add(context, domain, address, scope, live is null, config is null)
                    : await RemoveAsync(context, domain, address, scope, live, config, cancellationToken).ConfigureAwait(false);
            }
            catch (LibvirtException ex)
            {
                return HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"{Key} ({action}) of host {address.Describe()} on VM {context.Name} on node {context.NodeName} failed: libvirt reported {ex.Code}: {ex.LibvirtMessage}",
                    retryable: ex.IsRetryable);
            }
        });

    private HandlerResult Add(RequestContext ctx, LibvirtDomain domain, HostDeviceAddress address, VmChangeScope scope, bool liveMissing, bool configMissing)
    {
        var missing = new VmChangeScope(scope.Live && liveMissing, scope.Config && configMissing);
        if (!missing.Live && !missing.Config)
        {
            return ctx.Attempt > 1
                ? VmHost.Succeeded(domain, $"Host {address.Describe()} is passed through to VM {ctx.Name} (by an earlier attempt of this request).")
                : HandlerResult.Failed(ErrorClasses.LibvirtError, $"{Key} refused: host {address.Describe()} is already passed through to VM {ctx.Name} on node {ctx.NodeName} ({scope.Describe()}).");
        }

        if (WhyMissing(address) is { } why)
        {
            return HandlerResult.Failed(ErrorClasses.LibvirtError,
                $"{Key} refused: node {ctx.NodeName} has no host {address.Describe()} ({why}); check the numbers with {(address.Type == "pci" ? "lspci" : "lsusb")} on that node. Nothing was changed.");
        }

        domain.AttachDeviceFlags(HostDeviceXml.Build(address).ToString(), missing.ModificationFlags);
        if (scope.Live && HostDeviceXml.Find(VmDeviceOperation.Live(domain), address) is null)
        {
            return VmDeviceOperation.NotApplied(ctx, $"the running domain does not show host {address.Describe()}");
        }

        if (scope.Config && HostDeviceXml.Find(VmDeviceOperation.Inactive(domain), address) is null)
        {
            return VmDeviceOperation.NotApplied(ctx, $"the persistent definition does not show host {address.Describe()}");
        }

        return VmHost.Succeeded(domain, $"Host {address.Describe()} was passed through to VM {ctx.Name} on node {ctx.NodeName}, {scope.Describe()}.");
    }

    private async Task<HandlerResult> RemoveAsync(RequestContext ctx, LibvirtDomain domain, HostDeviceAddress address, VmChangeScope scope,
        System.Xml.Linq.XElement? live, System.Xml.Linq.XElement? config, CancellationToken ct)
    {
        if (live is null && config is null)
        {
            return ctx.Attempt > 1
                ? VmHost.Succeeded(domain, $"VM {ctx.Name} has no host {address.Describe()} (removed by an earlier attempt of this request).")
                : HandlerResult.Failed(ErrorClasses.LibvirtError,
                    $"{Key} refused: host {address.Describe()} is not passed through to VM {ctx.Name} on node {ctx.NodeName} ({scope.Describe()}).");
        }

        if (config is not null) domain.DetachDeviceFlags(config.ToString(), DomainModificationFlags.Config);
        if (live is not null)
        {
            domain.DetachDeviceFlags(live.ToString(), DomainModificationFlags.Live);
            if (!await VmDeviceParameters.WaitUntilGoneAsync(() => HostDeviceXml.Find(VmDeviceOperation.Live(domain), address) is null, ct).ConfigureAwait(false))
            {
                return VmDeviceParameters.NotReleased(ctx, $"host {address.Describe()}", config is not null);
            }
        }

        if (scope.Config && HostDeviceXml.Find(VmDeviceOperation.Inactive(domain), address) is not null)
        {
            return VmDeviceOperation.NotApplied(ctx, $"the persistent definition still lists host {address.Describe()}");
        }

        return VmHost.Succeeded(domain, $"Host {address.Describe()} was removed from VM {ctx.Name} on node {ctx.NodeName}, {scope.Describe()}.");
    }

    /// <summary>The device address from the request (catalog decision passthrough-numbers).</summary>
    public static HostDeviceAddress Address(RequestContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var p = ctx.Parameters;
        const string op = "passthroughDevice";
        var type = VmDeviceParameters.Enum(p, "dev_type", op, "pci", "usb");
        int Number(string key, NumberStyles style, int min, int max, string what)
        {
            var text = StorageParameters.Required(p, key, op);
            if (text.Length > 4 || !int.TryParse(text, style, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            {
                var form = style == NumberStyles.HexNumber ? $"hexadecimal {min:x}-{max:x}" : $"decimal {min}-{max}";
                throw new RequestParameterException(key, $"{op}.{key} is the {what}: {form}, not '{text}'.");
            }

            return v;
        }

        if (type == "pci")
        {
            return HostDeviceAddress.Pci(
                Number("bus_num", NumberStyles.HexNumber, 0, 0xff, "PCI bus (the 01 of 01:00.0)"),
                Number("sub_bus_num", NumberStyles.HexNumber, 0, 0x1f, "PCI slot (the 00 of 01:00.0)"),
                Number("dev_num", NumberStyles.HexNumber, 0, 7, "PCI function (the 0 of 01:00.0)"));
        }

        _ = StorageParameters.Required(p, "sub_bus_num", op);   // required by the catalog, unused for USB
        return HostDeviceAddress.Usb(
            Number("bus_num", NumberStyles.Integer, 1, 999, "USB bus number (lsusb: Bus 001)"),
            Number("dev_num", NumberStyles.Integer, 1, 127, "USB device number (lsusb: Device 002)"));
    }

    /// <summary>Null when sysfs lists the device; else why not.</summary>
    public static string? WhyMissing(HostDeviceAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Type == "pci")
        {
            var path = Path.Combine(SysfsRoot, "bus", "pci", "devices", address.ToString());
            return Directory.Exists(path) ? null : $"{path} does not exist";
        }

        var usb = Path.Combine(SysfsRoot, "bus", "usb", "devices");
        if (!Directory.Exists(usb)) return $"{usb} does not exist: the node has no USB bus";
        foreach (var dir in Directory.EnumerateDirectories(usb))
        {
            if (Read(dir, "busnum") == address.Bus && Read(dir, "devnum") == address.Device) return null;
        }

        return $"no entry of {usb} has busnum {address.Bus} and devnum {address.Device}";

        static int? Read(string dir, string file) =>
            File.Exists(Path.Combine(dir, file)) && int.TryParse(File.ReadAllText(Path.Combine(dir, file)).Trim(), CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
