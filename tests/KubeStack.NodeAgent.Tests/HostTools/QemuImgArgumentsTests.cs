using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Tests.HostTools;

/// <summary>The exact argument arrays QemuImg hands to the runner, and its error mapping (a fake runner, no processes).</summary>
public sealed class QemuImgArgumentsTests
{
    private sealed class FakeRunner(Func<IReadOnlyList<string>, IReadOnlySet<int>?, HostToolResult>? respond = null) : IHostToolRunner
    {
        public List<IReadOnlyList<string>> Calls { get; } = [];

        public Task<HostToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
            IReadOnlySet<int>? acceptedExitCodes = null)
        {
            Calls.Add(arguments);
            return Task.FromResult(respond?.Invoke(arguments, acceptedExitCodes)
                ?? new HostToolResult(tool, arguments, 0, string.Empty, string.Empty, TimeSpan.Zero));
        }
    }

    [Fact]
    public async Task Create_of_an_overlay_passes_backing_file_and_mandatory_backing_format()
    {
        var runner = new FakeRunner();
        await new QemuImg(runner).CreateAsync("/p/ov.qcow2", "qcow2", null, "/p/base.qcow2", "qcow2");
        Assert.Equal(["create", "-q", "-f", "qcow2", "-b", "/p/base.qcow2", "-F", "qcow2", "/p/ov.qcow2"], runner.Calls.Single());
    }

    [Fact]
    public async Task Create_with_options_sorts_them_and_doubles_commas_in_values()
    {
        var runner = new FakeRunner();
        await new QemuImg(runner).CreateAsync("/p/a.qcow2", "qcow2", 1073741824,
            options: new Dictionary<string, string> { ["preallocation"] = "metadata", ["cluster_size"] = "65536", ["x"] = "a,b" });
        Assert.Equal(["create", "-q", "-f", "qcow2", "-o", "cluster_size=65536,preallocation=metadata,x=a,,b", "/p/a.qcow2", "1073741824"],
            runner.Calls.Single());
    }

    [Fact]
    public async Task Create_without_size_or_backing_file_is_refused_before_running_anything()
    {
        var runner = new FakeRunner();
        await Assert.ThrowsAsync<ArgumentException>(() => new QemuImg(runner).CreateAsync("/p/a.qcow2", "qcow2", null));
        await Assert.ThrowsAsync<ArgumentException>(() => new QemuImg(runner).CreateAsync("/p/a.qcow2", "qcow2", null, "/p/b.qcow2", null));
        Assert.Empty(runner.Calls);
    }

    [Theory]
    [InlineData("-o")]
    [InlineData("--help")]
    [InlineData("")]
    public async Task Paths_that_would_read_as_options_are_refused(string path)
    {
        var runner = new FakeRunner();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => new QemuImg(runner).InfoAsync(path));
        Assert.Empty(runner.Calls);
    }

    [Theory]
    [InlineData("qcow2 -o x")]
    [InlineData("-f")]
    [InlineData("raw,x=1")]
    public async Task Format_names_are_restricted_to_plain_tokens(string format)
    {
        var runner = new FakeRunner();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => new QemuImg(runner).CreateAsync("/p/a", format, 1));
        Assert.Contains("format", ex.Message, StringComparison.Ordinal);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public async Task Info_uses_json_output_force_share_and_backing_chain_flags()
    {
        var runner = new FakeRunner((args, _) => new HostToolResult("qemu-img", args, 0,
            args.Contains("--backing-chain") ? """[{"filename":"a","format":"raw","virtual-size":1}]""" : """{"filename":"a","format":"raw","virtual-size":1}""",
            string.Empty, TimeSpan.Zero));
        var img = new QemuImg(runner);
        await img.InfoAsync("/p/a");
        await img.InfoAsync("/p/a", forceShare: false, format: "raw");
        await img.InfoBackingChainAsync("/p/a");
        Assert.Equal(["info", "--output=json", "-U", "/p/a"], runner.Calls[0]);
        Assert.Equal(["info", "--output=json", "-f", "raw", "/p/a"], runner.Calls[1]);
        Assert.Equal(["info", "--output=json", "-U", "--backing-chain", "/p/a"], runner.Calls[2]);
    }

    [Fact]
    public async Task Unparseable_info_output_becomes_a_HostToolException_naming_the_tool_and_arguments()
    {
        var runner = new FakeRunner((args, _) => new HostToolResult("qemu-img", args, 0, "not json", "warning: x", TimeSpan.Zero));
        var ex = await Assert.ThrowsAsync<HostToolException>(() => new QemuImg(runner).InfoAsync("/p/a"));
        Assert.Equal("qemu-img", ex.Tool);
        Assert.Equal(["info", "--output=json", "-U", "/p/a"], ex.Arguments);
        Assert.Contains("unparseable JSON", ex.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_accepts_the_corruption_and_leak_exit_codes_only()
    {
        IReadOnlySet<int>? accepted = null;
        var runner = new FakeRunner((args, codes) =>
        {
            accepted = codes;
            return new HostToolResult("qemu-img", args, 3, """{"check-errors":0,"leaks":1,"filename":"a","format":"qcow2"}""", string.Empty, TimeSpan.Zero);
        });
        var r = await new QemuImg(runner).CheckAsync("/p/a", "qcow2");
        Assert.Equal(["check", "--output=json", "-f", "qcow2", "/p/a"], runner.Calls.Single());
        Assert.Equal(3, r.ExitCode);
        Assert.False(r.IsClean);
        Assert.Equal(new HashSet<int> { 0, 2, 3 }, accepted);
    }

    [Fact]
    public async Task Resize_convert_snapshot_commit_and_rebase_build_the_documented_arguments()
    {
        var runner = new FakeRunner();
        var img = new QemuImg(runner);
        await img.ResizeAsync("/p/a", 2147483648, shrink: true, format: "qcow2");
        await img.ConvertAsync("/p/a", "/p/b", "raw", sourceFormat: "qcow2", compress: false);
        await img.ConvertAsync("/p/b", "/p/c", "qcow2", compress: true);
        await img.SnapshotCreateAsync("/p/a", "s1");
        await img.SnapshotApplyAsync("/p/a", "s1");
        await img.SnapshotDeleteAsync("/p/a", "s1");
        await img.CommitAsync("/p/ov");
        await img.RebaseAsync("/p/ov", "/p/base2", "qcow2");
        await img.RebaseAsync("/p/ov", "/p/base3", "qcow2", unsafeMode: true);
        await img.RebaseAsync("/p/ov", null, null);
        string[][] expected =
        [
            ["resize", "-q", "-f", "qcow2", "--shrink", "/p/a", "2147483648"],
            ["convert", "-q", "-f", "qcow2", "-O", "raw", "/p/a", "/p/b"],
            ["convert", "-q", "-O", "qcow2", "-c", "/p/b", "/p/c"],
            ["snapshot", "-c", "s1", "/p/a"],
            ["snapshot", "-a", "s1", "/p/a"],
            ["snapshot", "-d", "s1", "/p/a"],
            ["commit", "-q", "/p/ov"],
            ["rebase", "-q", "-b", "/p/base2", "-F", "qcow2", "/p/ov"],
            ["rebase", "-q", "-u", "-b", "/p/base3", "-F", "qcow2", "/p/ov"],
            ["rebase", "-q", "-b", "", "/p/ov"],
        ];
        Assert.Equal(expected.Length, runner.Calls.Count);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], runner.Calls[i]);
    }

    [Fact]
    public async Task Snapshot_names_that_would_read_as_options_are_refused()
    {
        var runner = new FakeRunner();
        await Assert.ThrowsAsync<ArgumentException>(() => new QemuImg(runner).SnapshotCreateAsync("/p/a", "-l"));
        Assert.Empty(runner.Calls);
    }
}
