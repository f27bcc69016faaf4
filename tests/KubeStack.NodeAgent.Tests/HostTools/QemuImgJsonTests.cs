using System.Text.Json;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Tests.HostTools;

/// <summary>Parsing of real qemu-img 7.2 JSON output (captured in testassets/).</summary>
public sealed class QemuImgJsonTests
{
    private static string Asset(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "HostTools", "testassets", name));

    [Fact]
    public void Info_of_a_qcow2_with_an_internal_snapshot_reads_sizes_format_specific_data_and_the_snapshot()
    {
        var info = QemuImgJson.ParseInfo(Asset("info-qcow2-with-snapshot.json"));
        Assert.Equal("base.qcow2", info.Filename);
        Assert.Equal("qcow2", info.Format);
        Assert.Equal(67108864, info.VirtualSize);
        Assert.Equal(208896, info.ActualSize);
        Assert.Equal(65536, info.ClusterSize);
        Assert.False(info.DirtyFlag);
        Assert.Null(info.BackingFilename);
        var snap = Assert.Single(info.Snapshots);
        Assert.Equal(("1", "snap1", 0L), (snap.Id, snap.Name, snap.VmStateSize));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795769549).AddTicks(4139780), snap.CreatedAt);
        var qcow2 = info.FormatSpecific!.Qcow2!;
        Assert.Equal("1.1", qcow2.Compat);
        Assert.Equal(16, qcow2.RefcountBits);
        Assert.False(qcow2.Corrupt);
        Assert.False(qcow2.LazyRefcounts);
    }

    [Fact]
    public void Info_of_an_overlay_names_its_backing_file_and_format()
    {
        var info = QemuImgJson.ParseInfo(Asset("info-overlay.json"));
        Assert.Equal("base.qcow2", info.BackingFilename);
        Assert.Equal("base.qcow2", info.FullBackingFilename);
        Assert.Equal("qcow2", info.BackingFilenameFormat);
        Assert.Equal(134217728, info.VirtualSize);
        Assert.Empty(info.Snapshots);
    }

    [Fact]
    public void Backing_chain_lists_the_image_first_then_its_base()
    {
        var chain = QemuImgJson.ParseInfoChain(Asset("info-backing-chain.json"));
        Assert.Equal(["ov.qcow2", "base.qcow2"], chain.Select(i => i.Filename));
        Assert.Equal(chain[1].Filename, chain[0].BackingFilename);
        Assert.Single(chain[1].Snapshots);
    }

    [Fact]
    public void Info_of_a_raw_image_has_no_cluster_size_and_no_format_specific_part()
    {
        var info = QemuImgJson.ParseInfo(Asset("info-raw.json"));
        Assert.Equal("raw", info.Format);
        Assert.Equal(10485760, info.VirtualSize);
        Assert.Null(info.ClusterSize);
        Assert.Null(info.FormatSpecific);
    }

    [Fact]
    public void Check_of_a_clean_image_is_clean_and_keeps_the_exit_code()
    {
        var r = QemuImgJson.ParseCheck(Asset("check-clean.json"), 0);
        Assert.True(r.IsClean);
        Assert.Equal(1024, r.TotalClusters);
        Assert.Equal(393216, r.ImageEndOffset);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void Check_reporting_leaks_is_not_clean()
    {
        var r = QemuImgJson.ParseCheck("""{"check-errors":0,"leaks":3,"filename":"a.qcow2","format":"qcow2"}""", 3);
        Assert.False(r.IsClean);
        Assert.Equal(3, r.Leaks);
        Assert.Equal(3, r.ExitCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("qemu-img: Could not open 'x'")]
    [InlineData("null")]
    [InlineData("""{"filename":"x"}""")]
    public void Output_that_is_not_image_info_is_rejected(string output) =>
        Assert.ThrowsAny<JsonException>(() => QemuImgJson.ParseInfo(output));

    [Fact]
    public void An_empty_backing_chain_is_rejected() =>
        Assert.Throws<JsonException>(() => QemuImgJson.ParseInfoChain("[]"));
}
