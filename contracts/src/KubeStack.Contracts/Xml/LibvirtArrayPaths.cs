using System.Collections.Frozen;

namespace KubeStack.Contracts.Xml;

/// <summary>
/// The fixed table of element paths that are always encoded as JSON arrays (architecture §1.7), per document type.
/// A path is the chain of XML element names from the root, as written (<c>prefix:local</c> for namespaced
/// elements, never the JSON key: <c>domain/devices/interface</c>, not <c>_interface</c>).
/// <para>
/// How the table was made (hand-maintained data, not generated code): the repeatable children of every element were
/// read from libvirt 9.0's RELAX NG schemas (<c>/usr/share/libvirt/schemas/{domain,storagepool,storagevol,network}.rng</c>:
/// an element under <c>zeroOrMore</c>/<c>oneOrMore</c>, or reachable twice in one content model); then the shape the
/// kube-stack API documents for <c>spec.domain</c> (the 返回值 example of the lifecycle document) was applied:
/// every documented array is in the table, and the few paths libvirt allows to repeat but the API documents as a
/// single object (<c>devices/graphics/listen</c>, <c>devices/*/source</c> of character devices, <c>os/initarg</c>,
/// <c>sysinfo</c>, <c>sysinfo/oemStrings/entry</c>) are left out so their documented shape never flips; such an
/// element still becomes an array in the rare document where it really repeats (the round trip stays lossless).
/// Namespaced elements use libvirt's usual prefixes (<c>qemu:</c>, <c>bhyve:</c>, <c>xen:</c>). Tests pin both rules and,
/// where the schemas are installed, re-derive the table from them and fail with the paths to add or remove
/// (<c>LibvirtArrayPathsTests.Table_matches_the_repeatable_elements_of_libvirts_schemas</c>).
/// </para>
/// <para>
/// Recursive structures (<c>backingStore</c> chains) are matched after collapsing consecutive repeated segments,
/// and the <c>domain</c>/<c>inactiveDomain</c> embedded in a <c>domainsnapshot</c> use the domain table.
/// </para>
/// </summary>
public static class LibvirtArrayPaths
{
    /// <summary>True when the element at <paramref name="path"/> is always an array in <paramref name="document"/>.</summary>
    public static bool IsArrayPath(LibvirtDocument document, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var normalized = Normalize(path);
        switch (document)
        {
            case LibvirtDocument.Domain:
                return DomainPaths.Contains(normalized);
            case LibvirtDocument.DomainSnapshot:
                foreach (var embedded in EmbeddedDomainPrefixes)
                {
                    if (normalized.StartsWith(embedded, StringComparison.Ordinal))
                    {
                        return DomainPaths.Contains("domain/" + normalized[embedded.Length..]);
                    }
                }
                return SnapshotPaths.Contains(normalized);
            case LibvirtDocument.StoragePool:
                return PoolPaths.Contains(normalized);
            case LibvirtDocument.StorageVolume:
                return VolumePaths.Contains(normalized);
            case LibvirtDocument.Network:
                return NetworkPaths.Contains(normalized);
            default:
                throw new ArgumentOutOfRangeException(nameof(document), document, "Unknown libvirt document type.");
        }
    }

    /// <summary>The table of one document type (for tests and documentation).</summary>
    public static IReadOnlyCollection<string> For(LibvirtDocument document) => document switch
    {
        LibvirtDocument.Domain => DomainPaths,
        LibvirtDocument.DomainSnapshot => SnapshotPaths,
        LibvirtDocument.StoragePool => PoolPaths,
        LibvirtDocument.StorageVolume => VolumePaths,
        LibvirtDocument.Network => NetworkPaths,
        _ => throw new ArgumentOutOfRangeException(nameof(document), document, "Unknown libvirt document type."),
    };

    private static readonly string[] EmbeddedDomainPrefixes = ["domainsnapshot/domain/", "domainsnapshot/inactiveDomain/"];

    /// <summary>Collapses consecutive identical segments: <c>disk/backingStore/backingStore/source</c> → <c>disk/backingStore/source</c>.</summary>
    internal static string Normalize(string path)
    {
        var segments = path.Split('/');
        var kept = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            if (kept.Count == 0 || !string.Equals(kept[^1], segment, StringComparison.Ordinal))
            {
                kept.Add(segment);
            }
        }
        return string.Join('/', kept);
    }

    private static readonly FrozenSet<string> DomainPaths = new[]
    {
        "domain/bhyve:commandline/bhyve:arg",
        "domain/blkiotune/device",
        "domain/clock/timer",
        "domain/cpu/feature",
        "domain/cpu/numa/cell",
        "domain/cpu/numa/cell/cache",
        "domain/cpu/numa/cell/distances/sibling",
        "domain/cpu/numa/interconnects/bandwidth",
        "domain/cpu/numa/interconnects/latency",
        "domain/cputune/cachetune",
        "domain/cputune/cachetune/cache",
        "domain/cputune/cachetune/monitor",
        "domain/cputune/iothreadpin",
        "domain/cputune/iothreadsched",
        "domain/cputune/memorytune",
        "domain/cputune/memorytune/monitor",
        "domain/cputune/memorytune/node",
        "domain/cputune/vcpupin",
        "domain/cputune/vcpusched",
        "domain/devices/audio",
        "domain/devices/channel",
        "domain/devices/channel/source/seclabel",
        "domain/devices/channel/source/seclabel/label",
        "domain/devices/console",
        "domain/devices/console/source/seclabel",
        "domain/devices/console/source/seclabel/label",
        "domain/devices/controller",
        "domain/devices/disk",
        "domain/devices/disk/backingStore/source/cookies/cookie",
        "domain/devices/disk/backingStore/source/host",
        "domain/devices/disk/backingStore/source/seclabel",
        "domain/devices/disk/backingStore/source/seclabel/label",
        "domain/devices/disk/mirror/backingStore/source/cookies/cookie",
        "domain/devices/disk/mirror/backingStore/source/host",
        "domain/devices/disk/mirror/backingStore/source/seclabel",
        "domain/devices/disk/mirror/backingStore/source/seclabel/label",
        "domain/devices/disk/mirror/source/cookies/cookie",
        "domain/devices/disk/mirror/source/host",
        "domain/devices/disk/mirror/source/seclabel",
        "domain/devices/disk/mirror/source/seclabel/label",
        "domain/devices/disk/source/cookies/cookie",
        "domain/devices/disk/source/host",
        "domain/devices/disk/source/seclabel",
        "domain/devices/disk/source/seclabel/label",
        "domain/devices/filesystem",
        "domain/devices/graphics",
        "domain/devices/graphics/channel",
        "domain/devices/hostdev",
        "domain/devices/hostdev/ip",
        "domain/devices/hostdev/route",
        "domain/devices/hostdev/source/host",
        "domain/devices/hub",
        "domain/devices/input",
        "domain/devices/interface",
        "domain/devices/interface/filterref/parameter",
        "domain/devices/interface/ip",
        "domain/devices/interface/portForward",
        "domain/devices/interface/portForward/range",
        "domain/devices/interface/route",
        "domain/devices/interface/source/ip",
        "domain/devices/interface/source/route",
        "domain/devices/interface/vlan/tag",
        "domain/devices/lease",
        "domain/devices/memory",
        "domain/devices/panic",
        "domain/devices/parallel",
        "domain/devices/parallel/source/seclabel",
        "domain/devices/parallel/source/seclabel/label",
        "domain/devices/redirdev",
        "domain/devices/redirdev/source/seclabel",
        "domain/devices/redirdev/source/seclabel/label",
        "domain/devices/redirfilter",
        "domain/devices/redirfilter/usbdev",
        "domain/devices/rng",
        "domain/devices/rng/backend/source",
        "domain/devices/rng/backend/source/seclabel",
        "domain/devices/rng/backend/source/seclabel/label",
        "domain/devices/serial",
        "domain/devices/serial/source/seclabel",
        "domain/devices/serial/source/seclabel/label",
        "domain/devices/shmem",
        "domain/devices/smartcard",
        "domain/devices/smartcard/certificate",
        "domain/devices/smartcard/source/seclabel",
        "domain/devices/smartcard/source/seclabel/label",
        "domain/devices/sound",
        "domain/devices/sound/codec",
        "domain/devices/tpm",
        "domain/devices/video",
        "domain/idmap/gid",
        "domain/idmap/uid",
        "domain/iothreadids/iothread",
        "domain/keywrap/cipher",
        "domain/memoryBacking/hugepages/page",
        "domain/numatune/memnode",
        "domain/os/acpi/table",
        "domain/os/boot",
        "domain/os/firmware/feature",
        "domain/os/initenv",
        "domain/os/nvram/source/cookies/cookie",
        "domain/os/nvram/source/host",
        "domain/os/nvram/source/seclabel",
        "domain/os/nvram/source/seclabel/label",
        "domain/perf/event",
        "domain/qemu:capabilities/qemu:add",
        "domain/qemu:capabilities/qemu:del",
        "domain/qemu:commandline/qemu:arg",
        "domain/qemu:commandline/qemu:env",
        "domain/qemu:override/qemu:device",
        "domain/qemu:override/qemu:device/qemu:frontend/qemu:property",
        "domain/seclabel",
        "domain/sysinfo/baseBoard",
        "domain/sysinfo/baseBoard/entry",
        "domain/sysinfo/bios/entry",
        "domain/sysinfo/chassis/entry",
        "domain/sysinfo/entry",
        "domain/sysinfo/memory",
        "domain/sysinfo/memory/entry",
        "domain/sysinfo/processor",
        "domain/sysinfo/processor/entry",
        "domain/sysinfo/system/entry",
        "domain/vcpus/vcpu",
        "domain/xen:commandline/xen:arg",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> SnapshotPaths = new[]
    {
        "domainsnapshot/cookie/cpu/feature",
        "domainsnapshot/disks/disk",
        "domainsnapshot/disks/disk/source/cookies/cookie",
        "domainsnapshot/disks/disk/source/host",
        "domainsnapshot/disks/disk/source/seclabel",
        "domainsnapshot/disks/disk/source/seclabel/label",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> PoolPaths = new[]
    {
        "pool/config_opts/option",
        "pool/mount_opts/option",
        "pool/source/device",
        "pool/source/device/freeExtent",
        "pool/source/host",
        "pool/source/name",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> VolumePaths = new[]
    {
        "volume/source/device",
        "volume/source/device/extent",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> NetworkPaths = new[]
    {
        "network/dns/forwarder",
        "network/dns/host",
        "network/dns/host/hostname",
        "network/dns/srv",
        "network/dns/txt",
        "network/forward/address",
        "network/forward/interface",
        "network/ip",
        "network/ip/dhcp/host",
        "network/ip/dhcp/range",
        "network/options/option",
        "network/portgroup",
        "network/portgroup/vlan/tag",
        "network/route",
        "network/vlan/tag",
    }.ToFrozenSet(StringComparer.Ordinal);
}
