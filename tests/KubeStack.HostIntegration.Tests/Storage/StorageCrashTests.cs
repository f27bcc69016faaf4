using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Events;
using Xunit.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// Long copies interrupted by killing the real agent process (and its qemu-img child, as a pod kill does) in the middle
/// of the copy, then the agent started again: the resumed request ends Succeeded once with exactly one copy, byte for
/// byte equal to the source (<c>qemu-img compare</c>), and no temporary file left.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class StorageCrashTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>The source: a raw disk of this size filled with non-zero bytes (qemu-img copies every byte; zeros would be skipped).</summary>
    private const int SourceMiB = 384;

    private readonly string _dir = Directory.CreateTempSubdirectory("kst-storage-crash-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [LabFact]
    public Task CloneDisk_killed_mid_copy_is_retried_to_one_byte_identical_clone_and_no_partial_file() =>
        RunAsync(Kinds.VirtualMachineDisk, "cloneDisk", (pool, source, target) => (source, new JsonObject
        {
            ["type"] = "localfs", ["pool"] = pool, ["newname"] = target, ["format"] = "qcow2",
        }));

    [LabFact]
    public Task CreateDiskImageFromDisk_killed_mid_copy_is_retried_to_one_byte_identical_image_and_no_partial_file() =>
        RunAsync(Kinds.VirtualMachineDiskImage, "createDiskImageFromDisk", (pool, source, target) => (target, new JsonObject
        {
            ["targetPool"] = pool, ["sourcePool"] = pool, ["sourceVolume"] = source,
        }));

    /// <param name="request">(pool, source volume, target volume) → (the object's name, the request's parameters).</param>
    private async Task RunAsync(string kind, string operation, Func<string, string, string, (string Name, JsonObject Parameters)> request)
    {
        await using var cluster = await StorageAgentHarness.StartAsync(runAgent: false);
        using var cleanup = new LibvirtCleanup(cluster.Connection);
        var (poolName, poolPath) = cluster.NewDirPool(cleanup);

        var source = LabEnvironment.UniqueName("src");
        var target = LabEnvironment.UniqueName("copy");
        var sourcePath = Path.Combine(poolPath, source);
        await WriteSourceAsync(sourcePath);
        var targetPath = Path.Combine(poolPath, target);
        var partPath = Path.Combine(poolPath, $".{target}.part");
        var (name, parameters) = request(poolName, source, target);
        var kubeconfig = cluster.Api.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        await cluster.ApplyAsync(kind, name, operation, parameters, eventId: "crash-copy-1");

        long partBytes;
        using (var first = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
        {
            await Await.UntilAsync(() => File.Exists(partPath) && new FileInfo(partPath).Length > 8 << 20, TimeSpan.FromSeconds(120),
                $"the agent writing more than 8 MiB of {partPath}");
            partBytes = new FileInfo(partPath).Length;
            first.Stop();
            output.WriteLine(first.Output);
        }

        Assert.False(File.Exists(targetPath), $"the copy finished before the agent was killed ({partBytes} bytes seen); the source is too small to interrupt it");
        Assert.True(File.Exists(partPath), "the interrupted copy left its temporary file (removed by the retry)");
        var interrupted = await cluster.GetAsync(kind, name);
        Assert.Equal(RequestPhase.Running, interrupted!.Status!.Lifecycle!.Phase);

        using (var second = DiskCrashTests.AgentProcess.Start(kubeconfig, crashAt: null))
        {
            var done = await cluster.WaitForAsync(kind, name,
                o => o.Spec.Lifecycle is null && o.Status?.Lifecycle?.Phase is RequestPhase.Succeeded or RequestPhase.Failed && o.Spec.Status is not null,
                $"the resumed {operation} finishing");
            second.Stop();
            output.WriteLine(second.Output);
            Assert.True(done.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, done.Status.Lifecycle.Message);
            Assert.Equal(2, done.Status.Lifecycle.Attempts);
            Assert.Single(await cluster.EventsAsync(name), e => e.Reason == EventReasons.LifecycleSucceeded);
        }

        Assert.Equal(new[] { source, target }.Order(StringComparer.Ordinal), Directory.GetFiles(poolPath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var compare = await HostToolRunner.Default.RunAsync("qemu-img", ["compare", "-q", "-f", "raw", "-F", "qcow2", sourcePath, targetPath],
            CancellationToken.None, new HashSet<int> { 0, 1 });
        Assert.True(compare.ExitCode == 0, $"the copy differs from the source: {compare.Stdout} {compare.Stderr}");
        var info = await QemuImg.Default.InfoAsync(targetPath);
        Assert.Equal(("qcow2", (string?)null, (long)SourceMiB << 20), (info.Format, info.BackingFilename, info.VirtualSize));
        if (operation == "cloneDisk")
        {
            // the real agent made the clone's own VirtualMachineDisk object (docs/decisions.md result-objects) across the kill
            var made = await cluster.GetAsync(Kinds.VirtualMachineDisk, target);
            Assert.True(made is not null, $"cloneDisk made no VirtualMachineDisk object {target}");
            Assert.Equal(targetPath, (string?)made.Spec.Volume?["filename"]);
        }
    }

    /// <summary>A raw file of <see cref="SourceMiB"/> MiB whose every 4 KiB block differs (non-zero, not compressible to nothing).</summary>
    private static async Task WriteSourceAsync(string path)
    {
        var block = new byte[1 << 20];
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        await using (stream)
        {
            for (var mib = 0; mib < SourceMiB; mib++)
            {
                for (var i = 0; i < block.Length; i += 4096)
                {
                    BitConverter.TryWriteBytes(block.AsSpan(i), (mib << 20) + i + 1);
                    block[i + 4] = 0x5a;
                }

                await stream.WriteAsync(block);
            }
        }
    }
}
