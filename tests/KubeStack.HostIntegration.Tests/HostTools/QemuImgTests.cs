using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.HostIntegration.Tests.HostTools;

/// <summary>The qemu-img wrapper against the real qemu-img (qemu-utils), in a temporary directory.</summary>
public sealed class QemuImgTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("kst-qemu-img-").FullName;
    private readonly QemuImg _img = QemuImg.Default;

    private string P(string name) => Path.Combine(_dir, name);

    /// <summary>qemu-io writes a byte pattern at an offset (test data).</summary>
    private static Task WritePatternAsync(string path, byte pattern, long offset, long length) =>
        HostToolRunner.Default.RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P 0x{pattern:x2} {offset} {length}", path], CancellationToken.None);

    /// <summary>qemu-img compare: true when both images show the same guest-visible content.</summary>
    private static async Task<bool> SameContentAsync(string a, string b) =>
        (await HostToolRunner.Default.RunAsync("qemu-img", ["compare", "-q", a, b], CancellationToken.None, new HashSet<int> { 0, 1 })).ExitCode == 0;

    [QemuImgFact]
    public async Task Create_info_and_resize_report_the_real_sizes()
    {
        await _img.CreateAsync(P("a.qcow2"), "qcow2", 64 * MiB, options: new Dictionary<string, string> { ["cluster_size"] = "65536", ["lazy_refcounts"] = "on" });
        var info = await _img.InfoAsync(P("a.qcow2"));
        Assert.Equal(("qcow2", 64 * MiB, 65536L), (info.Format, info.VirtualSize, info.ClusterSize!.Value));
        Assert.True(info.FormatSpecific!.Qcow2!.LazyRefcounts);

        await _img.ResizeAsync(P("a.qcow2"), 128 * MiB);
        Assert.Equal(128 * MiB, (await _img.InfoAsync(P("a.qcow2"))).VirtualSize);

        var ex = await Assert.ThrowsAsync<HostToolException>(() => _img.ResizeAsync(P("a.qcow2"), 96 * MiB));
        Assert.Equal(1, ex.ExitCode);
        Assert.Contains("shrink", ex.Stderr, StringComparison.Ordinal);
        await _img.ResizeAsync(P("a.qcow2"), 96 * MiB, shrink: true);
        Assert.Equal(96 * MiB, (await _img.InfoAsync(P("a.qcow2"))).VirtualSize);
    }

    [QemuImgFact]
    public async Task Info_of_a_missing_file_is_a_HostToolException_with_exit_code_and_stderr()
    {
        var ex = await Assert.ThrowsAsync<HostToolException>(() => _img.InfoAsync(P("missing.qcow2")));
        Assert.Equal("qemu-img", ex.Tool);
        Assert.Equal(1, ex.ExitCode);
        Assert.Contains("No such file or directory", ex.Stderr, StringComparison.Ordinal);
        Assert.Contains(P("missing.qcow2"), ex.Arguments);
    }

    [QemuImgFact]
    public async Task Internal_snapshots_are_created_listed_applied_and_deleted_and_apply_restores_data()
    {
        var path = P("s.qcow2");
        await _img.CreateAsync(path, "qcow2", 8 * MiB);
        await WritePatternAsync(path, 0xab, 0, MiB);
        await _img.ConvertAsync(path, P("before.qcow2"), "qcow2");
        await _img.SnapshotCreateAsync(path, "snap1");
        Assert.Equal(["snap1"], (await _img.SnapshotListAsync(path)).Select(s => s.Name));

        await WritePatternAsync(path, 0xcd, 0, MiB);
        Assert.False(await SameContentAsync(path, P("before.qcow2")));
        await _img.SnapshotApplyAsync(path, "snap1");
        Assert.True(await SameContentAsync(path, P("before.qcow2")));

        await _img.SnapshotDeleteAsync(path, "snap1");
        Assert.Empty(await _img.SnapshotListAsync(path));
        await Assert.ThrowsAsync<HostToolException>(() => _img.SnapshotApplyAsync(path, "snap1"));
    }

    [QemuImgFact]
    public async Task Convert_between_formats_keeps_the_content()
    {
        await _img.CreateAsync(P("c.qcow2"), "qcow2", 4 * MiB);
        await WritePatternAsync(P("c.qcow2"), 0x5a, MiB, MiB);
        await _img.ConvertAsync(P("c.qcow2"), P("c.raw"), "raw", sourceFormat: "qcow2");
        await _img.ConvertAsync(P("c.raw"), P("c2.qcow2"), "qcow2", sourceFormat: "raw", compress: true);
        Assert.Equal("raw", (await _img.InfoAsync(P("c.raw"))).Format);
        Assert.Equal(4 * MiB, new FileInfo(P("c.raw")).Length);
        Assert.True(await SameContentAsync(P("c.qcow2"), P("c2.qcow2")));
    }

    [QemuImgFact]
    public async Task Overlay_chain_commit_and_safe_rebase()
    {
        await _img.CreateAsync(P("base.qcow2"), "qcow2", 8 * MiB);
        await _img.CreateAsync(P("ov.qcow2"), "qcow2", null, P("base.qcow2"), "qcow2");
        var chain = await _img.InfoBackingChainAsync(P("ov.qcow2"));
        Assert.Equal([P("ov.qcow2"), P("base.qcow2")], chain.Select(i => i.Filename));
        Assert.Equal(8 * MiB, chain[0].VirtualSize);
        Assert.Equal("qcow2", chain[0].BackingFilenameFormat);

        // data written into the overlay lands in the base on commit
        await WritePatternAsync(P("ov.qcow2"), 0x11, 0, MiB);
        Assert.False(await SameContentAsync(P("ov.qcow2"), P("base.qcow2")));
        await _img.CommitAsync(P("ov.qcow2"));
        Assert.True(await SameContentAsync(P("ov.qcow2"), P("base.qcow2")));

        // safe rebase onto an empty base keeps what the guest sees; flattening removes the backing file
        await _img.CreateAsync(P("empty.qcow2"), "qcow2", 8 * MiB);
        await _img.RebaseAsync(P("ov.qcow2"), P("empty.qcow2"), "qcow2");
        Assert.Equal(P("empty.qcow2"), (await _img.InfoAsync(P("ov.qcow2"))).BackingFilename);
        Assert.True(await SameContentAsync(P("ov.qcow2"), P("base.qcow2")));
        await _img.RebaseAsync(P("ov.qcow2"), null, null);
        Assert.Null((await _img.InfoAsync(P("ov.qcow2"))).BackingFilename);
        Assert.True(await SameContentAsync(P("ov.qcow2"), P("base.qcow2")));
    }

    [QemuImgFact]
    public async Task Check_reports_a_clean_qcow2_and_refuses_raw()
    {
        await _img.CreateAsync(P("k.qcow2"), "qcow2", 4 * MiB);
        var r = await _img.CheckAsync(P("k.qcow2"));
        Assert.True(r.IsClean);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("qcow2", r.Format);

        await _img.CreateAsync(P("k.raw"), "raw", MiB);
        var ex = await Assert.ThrowsAsync<HostToolException>(() => _img.CheckAsync(P("k.raw"), "raw"));
        Assert.Equal(63, ex.ExitCode); // "This image format does not support checks"
    }

    [QemuImgFact]
    public async Task A_missing_tool_is_reported_as_missing_not_as_a_failed_run()
    {
        var ex = await Assert.ThrowsAsync<HostToolException>(() => new QemuImg(HostToolRunner.Default, "qemu-img-does-not-exist").InfoAsync(P("x")));
        Assert.True(ex.IsToolMissing);
        Assert.Equal(-1, ex.ExitCode);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
