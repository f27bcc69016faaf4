using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders.Devices;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// plugDisk: attaches an existing disk file (made by createDisk) at <c>target</c>, live and/or persistently
/// (<see cref="VmChangeScope"/>). Probes first: a target already holding the same source where asked is a resumed
/// success (attempt &gt; 1) or the seed's "target in use" error; a half-done attach (only live or only config) is
/// completed. Success only when the live and/or inactive XML read back show the disk.
/// </summary>
public sealed class PlugDiskHandler(VmHost host) : ILifecycleHandler
{
    private static readonly string[] Buses = ["ide", "scsi", "virtio", "xen", "usb", "sata", "sd"];
    private static readonly string[] Caches = ["none", "writethrough", "directsync", "unsafe", "writeback"];

    public string Kind => Kinds.VirtualMachine;
    public string Key => "plugDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Attaching a disk to", domain =>
        {
            var spec = ParseSpec(context);
            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            var liveDisk = scope.Live ? VmDeviceOperation.Disk(VmDeviceOperation.Live(domain), spec.Target) : null;
            var configDisk = scope.Config ? VmDeviceOperation.Disk(VmDeviceOperation.Inactive(domain), spec.Target) : null;
            foreach (var existing in new[] { liveDisk, configDisk })
            {
                if (existing is not null && VmDeviceOperation.SourceOf(existing) != spec.Source)
                {
                    return HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"plugDisk refused: target {spec.Target} of VM {context.Name} on node {context.NodeName} is already used by " +
                        $"{VmDeviceOperation.SourceOf(existing) ?? "another device"}. Choose a free target (see spec.domain) or unplug it first.");
                }
            }

            var missing = new VmChangeScope(scope.Live && liveDisk is null, scope.Config && configDisk is null);
            if (!missing.Live && !missing.Config)
            {
                return context.Attempt > 1
                    ? VmHost.Succeeded(domain, $"Disk {spec.Source} is attached to VM {context.Name} as {spec.Target} (by an earlier attempt of this request).")
                    : HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"plugDisk refused: {spec.Source} is already attached to VM {context.Name} on node {context.NodeName} as {spec.Target}.");
            }

            domain.AttachDeviceFlags(DiskDeviceXml.BuildString(spec), missing.ModificationFlags);

            if (scope.Live && VmDeviceOperation.Disk(VmDeviceOperation.Live(domain), spec.Target) is var live
                           && (live is null || VmDeviceOperation.SourceOf(live) != spec.Source))
            {
                return VmDeviceOperation.NotApplied(context, $"the running domain does not show {spec.Source} at {spec.Target}");
            }

            if (scope.Config && VmDeviceOperation.Disk(VmDeviceOperation.Inactive(domain), spec.Target) is null)
            {
                return VmDeviceOperation.NotApplied(context, $"the persistent definition does not show {spec.Source} at {spec.Target}");
            }

            return VmHost.Succeeded(domain, $"Disk {spec.Source} was attached to VM {context.Name} on node {context.NodeName} as {spec.Target}, {scope.Describe()}.");
        });

    /// <summary>The disk device from the request (the backstop of admission's checks).</summary>
    public static DiskDeviceSpec ParseSpec(RequestContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var p = ctx.Parameters;
        const string op = "plugDisk";
        var source = SafePath.Resolve(StorageParameters.Required(p, "source", op));
        var target = StorageParameters.Required(p, "target", op);
        if (!System.Text.RegularExpressions.Regex.IsMatch(target, "^(vd|hd|sd)[a-z]{1,2}$"))
        {
            throw new RequestParameterException("target", $"{op}.target must be vdX, hdX or sdX (e.g. vdc), not '{target}'.");
        }

        var bus = StorageParameters.Optional(p, "targetbus") ?? target[..2] switch { "hd" => "ide", "sd" => "scsi", _ => "virtio" };
        Check(bus, Buses, "targetbus");
        var device = StorageParameters.Optional(p, "type") ?? "disk";
        Check(device, ["disk", "lun", "cdrom", "floppy"], "type");
        var driverType = StorageParameters.Optional(p, "subdriver") ?? "qcow2";
        Check(driverType, ["qcow2", "raw"], "subdriver");
        var sourceType = StorageParameters.Optional(p, "sourcetype") ?? "file";
        Check(sourceType, ["file", "block"], "sourcetype");
        var cache = StorageParameters.Optional(p, "cache");
        if (cache is not null) Check(cache, Caches, "cache");
        var sgio = StorageParameters.Optional(p, "sgio");
        if (sgio is not null) Check(sgio, ["unfiltered", "filtered"], "sgio");
        var mode = StorageParameters.Optional(p, "mode");
        if (mode is not null) Check(mode, ["readonly", "shareable"], "mode");
        var driver = StorageParameters.Optional(p, "driver");
        if (driver is not null) Check(driver, ["qemu"], "driver");

        long? Limit(string key, long max)
        {
            if (StorageParameters.Optional(p, key) is null) return null;
            return VmDeviceOperation.Integer(p, key, op, 0, max, key.EndsWith("iops_sec", StringComparison.Ordinal) ? "I/O operations per second" : "bytes per second");
        }

        var io = new DiskIoTune(
            Limit("total_bytes_sec", 9_999_999_999), Limit("read_bytes_sec", 9_999_999_999), Limit("write_bytes_sec", 9_999_999_999),
            Limit("total_iops_sec", 9_999_999_999), Limit("read_iops_sec", 99_999), Limit("write_iops_sec", 99_999));
        return new DiskDeviceSpec(source, target, bus, device, sourceType, driverType, cache, sgio, mode, io.IsEmpty ? null : io);

        void Check(string value, string[] allowed, string key)
        {
            if (!allowed.Contains(value, StringComparer.Ordinal))
            {
                throw new RequestParameterException(key, $"{op}.{key} must be one of {string.Join(", ", allowed)}, not '{value}'.");
            }
        }
    }
}
