using KubeStack.Contracts.Xml;

namespace KubeStack.Contracts.Tests.Xml;

/// <summary>
/// Pins the array-path table against the shape the kube-stack API documents for spec.domain / spec.domainsnapshot
/// (the 返回值 examples of the lifecycle document: every array there, and a sample of the single objects).
/// </summary>
public class LibvirtArrayPathsTests
{
    /// <summary>Every path the documented example shows as an array (XML element names).</summary>
    public static readonly string[] DocumentedDomainArrays =
    [
        "domain/blkiotune/device",
        "domain/clock/timer",
        "domain/cpu/feature",
        "domain/cpu/numa/cell",
        "domain/cpu/numa/cell/distances/sibling",
        "domain/cputune/cachetune",
        "domain/cputune/cachetune/cache",
        "domain/cputune/cachetune/monitor",
        "domain/cputune/iothreadpin",
        "domain/cputune/iothreadsched",
        "domain/cputune/memorytune",
        "domain/cputune/memorytune/node",
        "domain/cputune/vcpupin",
        "domain/cputune/vcpusched",
        "domain/devices/channel",
        "domain/devices/console",
        "domain/devices/controller",
        "domain/devices/disk",
        "domain/devices/filesystem",
        "domain/devices/graphics",
        "domain/devices/hostdev",
        "domain/devices/hub",
        "domain/devices/input",
        "domain/devices/interface",
        "domain/devices/interface/filterref/parameter",
        "domain/devices/interface/ip",
        "domain/devices/interface/route",
        "domain/devices/lease",
        "domain/devices/memory",
        "domain/devices/panic",
        "domain/devices/parallel",
        "domain/devices/redirdev",
        "domain/devices/redirfilter",
        "domain/devices/redirfilter/usbdev",
        "domain/devices/rng",
        "domain/devices/serial",
        "domain/devices/shmem",
        "domain/devices/smartcard",
        "domain/devices/smartcard/certificate",
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
        "domain/os/initenv",
        "domain/perf/event",
        "domain/seclabel",
        "domain/sysinfo/baseBoard",
        "domain/sysinfo/baseBoard/entry",
        "domain/sysinfo/bios/entry",
        "domain/sysinfo/chassis/entry",
        "domain/sysinfo/memory",
        "domain/sysinfo/memory/entry",
        "domain/sysinfo/processor",
        "domain/sysinfo/processor/entry",
        "domain/sysinfo/system/entry",
        "domain/vcpus/vcpu",
    ];

    /// <summary>Paths the documented example shows as single objects, including those libvirt would let repeat.</summary>
    public static readonly string[] DocumentedDomainSingles =
    [
        "domain/devices/memballoon",
        "domain/devices/emulator",
        "domain/devices/watchdog",
        "domain/devices/vsock",
        "domain/devices/nvram",
        "domain/devices/iommu",
        "domain/devices/graphics/listen",
        "domain/devices/serial/source",
        "domain/devices/console/source",
        "domain/devices/channel/source",
        "domain/devices/parallel/source",
        "domain/devices/redirdev/source",
        "domain/devices/smartcard/source",
        "domain/os/initarg",
        "domain/sysinfo",
        "domain/sysinfo/oemStrings/entry",
        "domain/os/type",
        "domain/cpu/numa",
        "domain/features/acpi",
        "domain/memory",
        "domain/vcpu",
        "domain/name",
        "domain/uuid",
        "domain/devices/disk/source",
        "domain/devices/disk/target",
        "domain/devices/disk/driver",
        "domain/devices/interface/source",
        "domain/devices/interface/mac",
        "domain/devices/interface/virtualport/parameters",
    ];

    public static TheoryData<string> DomainArrays => new(DocumentedDomainArrays);

    public static TheoryData<string> DomainSingles => new(DocumentedDomainSingles);

    [Theory]
    [MemberData(nameof(DomainArrays))]
    public void Every_documented_domain_array_is_always_an_array(string path)
    {
        Assert.True(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.Domain, path), path);
        // The same element inside a snapshot's embedded domain (and inactiveDomain) keeps the shape.
        Assert.True(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.DomainSnapshot, "domainsnapshot/" + path), path);
        Assert.True(LibvirtArrayPaths.IsArrayPath(
            LibvirtDocument.DomainSnapshot, "domainsnapshot/inactiveDomain/" + path["domain/".Length..]), path);
    }

    [Theory]
    [MemberData(nameof(DomainSingles))]
    public void Documented_single_objects_never_become_arrays_when_they_occur_once(string path)
    {
        Assert.False(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.Domain, path), path);
        Assert.False(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.DomainSnapshot, "domainsnapshot/" + path), path);
    }

    [Theory]
    [InlineData("domainsnapshot/disks/disk")]
    [InlineData("domainsnapshot/cookie/cpu/feature")]
    public void Documented_snapshot_arrays_are_arrays(string path) =>
        Assert.True(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.DomainSnapshot, path), path);

    [Theory]
    [InlineData("domain/devices/disk/backingStore/backingStore/backingStore/source/host")]
    [InlineData("domain/devices/disk/mirror/backingStore/backingStore/source/host")]
    public void Recursive_backing_store_chains_match_at_any_depth(string path) =>
        Assert.True(LibvirtArrayPaths.IsArrayPath(LibvirtDocument.Domain, path), path);

    [Theory]
    [InlineData(LibvirtDocument.StoragePool, "pool/source/host")]
    [InlineData(LibvirtDocument.StorageVolume, "volume/source/device")]
    [InlineData(LibvirtDocument.Network, "network/ip")]
    [InlineData(LibvirtDocument.Network, "network/ip/dhcp/host")]
    [InlineData(LibvirtDocument.Network, "network/portgroup")]
    public void Other_documents_have_their_repeatable_elements_from_libvirts_schemas(LibvirtDocument document, string path) =>
        Assert.True(LibvirtArrayPaths.IsArrayPath(document, path), path);

    [Fact]
    public void Table_paths_are_xml_names_rooted_at_the_document_root()
    {
        foreach (var document in Enum.GetValues<LibvirtDocument>())
        {
            var root = LibvirtXmlJson.RootElementName(document) + "/";
            Assert.All(LibvirtArrayPaths.For(document), p =>
            {
                Assert.StartsWith(root, p, StringComparison.Ordinal);
                Assert.DoesNotContain("/_", p, StringComparison.Ordinal);
            });
        }
    }

    /// <summary>
    /// Regeneration check: the table equals what libvirt's installed schemas say (plus the documented arrays, minus
    /// the documented singles). Fails with the paths to add or remove after a libvirt upgrade changes the schemas.
    /// </summary>
    [RequiresLibvirtSchemasTheory]
    [InlineData(LibvirtDocument.Domain, "domain.rng", "domain")]
    [InlineData(LibvirtDocument.StoragePool, "storagepool.rng", "pool")]
    [InlineData(LibvirtDocument.StorageVolume, "storagevol.rng", "volume")]
    [InlineData(LibvirtDocument.Network, "network.rng", "network")]
    public void Table_matches_the_repeatable_elements_of_libvirts_schemas(LibvirtDocument document, string schema, string root)
    {
        var expected = RngRepeatableElements.Analyze(RequiresLibvirtSchemasTheoryAttribute.Directory, schema, root);
        if (document == LibvirtDocument.Domain)
        {
            expected.ExceptWith(DocumentedDomainSingles);
            expected.UnionWith(DocumentedDomainArrays);
        }
        var table = new SortedSet<string>(LibvirtArrayPaths.For(document), StringComparer.Ordinal);

        var missing = expected.Except(table).ToList();
        var extra = table.Except(expected).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"Add to the table: {string.Join(", ", missing)}\nRemove from the table: {string.Join(", ", extra)}");
    }
}

/// <summary>A theory skipped (with the reason) when libvirt's RELAX NG schemas are not installed.</summary>
public sealed class RequiresLibvirtSchemasTheoryAttribute : TheoryAttribute
{
    public const string Directory = "/usr/share/libvirt/schemas";

    public RequiresLibvirtSchemasTheoryAttribute()
    {
        if (!File.Exists(Path.Combine(Directory, "domain.rng")))
        {
            Skip = $"libvirt's schemas are not installed in {Directory} (apt-get install libvirt-clients).";
        }
    }
}
