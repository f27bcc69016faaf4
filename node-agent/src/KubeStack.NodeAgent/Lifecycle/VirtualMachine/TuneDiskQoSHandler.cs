using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// tuneDiskQoS: per-disk I/O limits through virDomainSetBlockIoTune, live and/or persistently. libvirt replaces a group
/// (bytes/s or I/O ops/s) as a whole: the limits of a group that are not given become 0 (no limit), the other group
/// keeps its values; 0 removes a limit. Success only when
/// virDomainGetBlockIoTune, read back for each scope, reports every given value; the values are echoed in the message
/// and the disk's <c>&lt;iotune&gt;</c> in spec.domain.
/// </summary>
public sealed class TuneDiskQoSHandler(VmHost host) : ILifecycleHandler
{
    /// <summary>The catalog's limits: parameter = libvirt's typed-parameter field, and its maximum.</summary>
    private static readonly (string Field, long Max)[] Limits =
    [
        ("total_bytes_sec", 9_999_999_999), ("read_bytes_sec", 9_999_999_999), ("write_bytes_sec", 9_999_999_999),
        ("total_iops_sec", 9_999_999_999), ("read_iops_sec", 99_999), ("write_iops_sec", 99_999),
    ];

    public string Kind => Kinds.VirtualMachine;
    public string Key => "tuneDiskQoS";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken) =>
        VmDeviceOperation.RunAsync(context, host, "Setting the disk QoS of", domain =>
        {
            var p = context.Parameters;
            var device = StorageParameters.Required(p, "device", Key);
            if (!System.Text.RegularExpressions.Regex.IsMatch(device, "^(vd|hd|sd)[a-z]$"))
            {
                throw new RequestParameterException("device", $"{Key}.device must be vdX, hdX or sdX (e.g. vdb), not '{device}'.");
            }

            var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (var (field, max) in Limits)
            {
                if (VmDeviceParameters.OptionalInteger(p, field, Key, 0, max, field.Contains("iops", StringComparison.Ordinal) ? "I/O operations per second" : "bytes per second") is { } v)
                {
                    values[field] = (ulong)v;
                }
            }

            if (values.Count == 0)
            {
                throw new RequestParameterException("total_bytes_sec",
                    $"{Key} needs at least one limit: total_bytes_sec, read_bytes_sec, write_bytes_sec, total_iops_sec, read_iops_sec or write_iops_sec.");
            }

            foreach (var kind in new[] { "bytes", "iops" })
            {
                if (values.ContainsKey($"total_{kind}_sec") && (values.ContainsKey($"read_{kind}_sec") || values.ContainsKey($"write_{kind}_sec")))
                {
                    throw new RequestParameterException($"total_{kind}_sec",
                        $"{Key}.total_{kind}_sec cannot be combined with read_{kind}_sec or write_{kind}_sec (libvirt refuses the mix).");
                }
            }

            var scope = VmChangeScope.Resolve(context, VmDeviceOperation.IsRunning(domain));
            foreach (var (flag, xml) in Scopes(scope, domain))
            {
                if (VmDeviceOperation.Disk(xml, device) is null)
                {
                    return HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"{Key} refused: VM {context.Name} on node {context.NodeName} has no disk {device} ({(flag == DomainModificationFlags.Live ? "running domain" : "persistent definition")}). See spec.domain for its disks.");
                }
            }

            domain.SetBlockIoTune(device, values, scope.ModificationFlags);

            var applied = new List<string>();
            foreach (var (flag, _) in Scopes(scope, domain))
            {
                var read = domain.GetBlockIoTune(device, flag);
                foreach (var (field, want) in values)
                {
                    if (!read.TryGetValue(field, out var got) || Convert.ToUInt64(got, CultureInfo.InvariantCulture) != want)
                    {
                        return VmDeviceOperation.NotApplied(context,
                            $"virDomainGetBlockIoTune ({flag}) reports {field}={(got ?? "nothing")} for {device} instead of {want}");
                    }
                }

                applied.Add($"{(flag == DomainModificationFlags.Live ? "live" : "persistent")}: " +
                            string.Join(", ", values.Keys.Select(k => $"{k}={read[k]}")));
            }

            return VmHost.Succeeded(domain,
                $"Disk {device} of VM {context.Name} on node {context.NodeName} has the I/O limits read back by virDomainGetBlockIoTune ({string.Join("; ", applied)}).");
        });

    /// <summary>The scopes to read back, one flag each (libvirt's getters take exactly one), with the XML of that scope.</summary>
    internal static IEnumerable<(DomainModificationFlags Flag, System.Xml.Linq.XDocument Xml)> Scopes(VmChangeScope scope, LibvirtDomain domain)
    {
        if (scope.Live) yield return (DomainModificationFlags.Live, VmDeviceOperation.Live(domain));
        if (scope.Config) yield return (DomainModificationFlags.Config, VmDeviceOperation.Inactive(domain));
    }
}
