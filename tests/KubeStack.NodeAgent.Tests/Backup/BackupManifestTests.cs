using KubeStack.NodeAgent.Lifecycle.Common.Backups;

namespace KubeStack.NodeAgent.Tests.Backup;

public sealed class BackupManifestTests
{
    internal static BackupDiskEntry Disk(string version, string? parent = null, string target = "vda", string file = "vda.qcow2", bool system = true) => new()
    {
        Target = target,
        System = system,
        Volume = "vm1",
        Pool = "pool1",
        SourcePath = "/var/lib/libvirt/images/vm1",
        SourceFormat = "qcow2",
        VirtualSize = 1 << 30,
        Format = "qcow2",
        File = file,
        Bytes = 1234,
        Sha256 = new string('a', 64),
        Mode = parent is null ? BackupManifest.ModeFull : BackupManifest.ModeIncremental,
        ParentVersion = parent,
        BackingFile = parent is null ? null : $"../{parent}/{file}",
        Chain = parent is null ? [version] : [version, parent],
    };

    internal static BackupManifest Manifest(string version = "v2", string? parent = "v1", string kind = BackupManifest.KindVm) => new()
    {
        Kind = kind,
        Domain = "vm1",
        Version = version,
        Mode = parent is null ? BackupManifest.ModeFull : BackupManifest.ModeIncremental,
        Parent = parent,
        Created = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero),
        Node = "node1",
        Method = BackupManifest.MethodOfflineCopy,
        DomainXml = kind == BackupManifest.KindVm ? "<domain><name>vm1</name></domain>" : null,
        AllDisks = false,
        Disks = [Disk(version, parent)],
    };

    [Fact]
    public void A_manifest_survives_serialization_with_camelCase_fields_and_its_chain()
    {
        var json = BackupManifestJson.Serialize(Manifest());
        Assert.Contains("\"formatVersion\": 1", json, StringComparison.Ordinal);
        Assert.Contains("\"backingFile\": \"../v1/vda.qcow2\"", json, StringComparison.Ordinal);
        var back = BackupManifestJson.Deserialize(json, "/x/manifest.json", "v2");
        Assert.Equal(["v2", "v1"], back.Disks[0].Chain);
        Assert.Equal(("v1", BackupManifest.ModeIncremental, "vda"), (back.Parent, back.Mode, back.SystemDisk!.Target));
    }

    public static TheoryData<string, Func<BackupManifest, BackupManifest>> Broken => new()
    {
        { "formatVersion is 2", m => m with { FormatVersion = 2 } },
        { "kind must be vm or disk", m => m with { Kind = "snapshot" } },
        { "an incremental version must name its parent", m => m with { Parent = null } },
        { "version 'a/b'", m => m with { Version = "a/b" } },
        { "must carry the domain XML", m => m with { DomainXml = null } },
        { "lists no disks", m => m with { Disks = [] } },
        { "sha256 must be 64 lower-case hex digits", m => m with { Disks = [m.Disks[0] with { Sha256 = "ABC" }] } },
        { "the backing file must be ../v1/vda.qcow2", m => m with { Disks = [m.Disks[0] with { BackingFile = "/etc/passwd" }] } },
        { "the chain must start with the version itself", m => m with { Disks = [m.Disks[0] with { Chain = ["v1"] }] } },
        { "may not be called manifest.json", m => m with { Disks = [m.Disks[0] with { File = "manifest.json", BackingFile = "../v1/manifest.json" }] } },
        { "file name '..x'", m => m with { Disks = [m.Disks[0] with { File = "..x" }] } },
        { "listed twice", m => m with { Disks = [m.Disks[0], m.Disks[0] with { Target = "vdb", System = false }] } },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_manifest_that_breaks_a_rule_is_refused_on_read_and_on_write(string expected, Func<BackupManifest, BackupManifest> breakIt)
    {
        var broken = breakIt(Manifest());
        var problem = BackupManifestJson.Problem(broken, null);
        Assert.NotNull(problem);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => BackupManifestJson.Serialize(broken));
    }

    [Fact]
    public void A_manifest_found_in_another_versions_directory_or_not_JSON_is_invalid()
    {
        var json = BackupManifestJson.Serialize(Manifest());
        var moved = Assert.Throws<BackupFormatException>(() => BackupManifestJson.Deserialize(json, "/a/v9/manifest.json", "v9"));
        Assert.Contains("directory of version 'v9'", moved.Message, StringComparison.Ordinal);
        Assert.Throws<BackupFormatException>(() => BackupManifestJson.Deserialize("{ not json", "/a/manifest.json"));
        Assert.Throws<BackupFormatException>(() => BackupManifestJson.Deserialize("null", "/a/manifest.json"));
    }

    [Theory]
    [InlineData("v1", true)]
    [InlineData("13024b305b5c463b80bceee066077079", true)]
    [InlineData("Daily_2026-11-27.1", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("-x", false)]
    [InlineData("a/b", false)]
    [InlineData("a..b", false)]
    [InlineData("a b", false)]
    public void Backup_names_are_single_safe_path_segments(string name, bool valid) =>
        Assert.Equal(valid, BackupNames.Problem(name) is null);
}
