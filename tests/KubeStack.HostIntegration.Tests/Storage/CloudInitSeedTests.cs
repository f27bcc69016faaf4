using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>create/deleteCloudInitUserDataImage: a real NoCloud ISO, read back with xorriso's ISO reader.</summary>
[Collection(LabCollection.Name)]
public sealed class CloudInitSeedTests
{
    private const string UserData = "#cloud-config\nusers:\n  - name: kst\n    lock_passwd: true\nruncmd:\n  - [echo, hello]\n";

    private static async Task<string> ExtractAsync(string iso, string file, string outDir)
    {
        var target = Path.Combine(outDir, file);
        await HostToolRunner.Default.RunAsync("xorriso", ["-osirrox", "on", "-indev", iso, "-extract", $"/{file}", target], CancellationToken.None);
        return await File.ReadAllTextAsync(target);
    }

    [LabFact]
    public async Task The_seed_is_an_iso_labelled_cidata_with_the_user_data_and_meta_data_and_deleting_it_removes_the_file()
    {
        using var kit = StorageTestKit.Open();
        var (pool, dir) = kit.NewPool();
        var seed = LabEnvironment.UniqueName("seed");
        var create = new CreateCloudInitUserDataImageHandler(kit.Libvirt, StorageTestKit.QemuImg);

        var result = (await StorageTestKit.RunAsync(create, seed, new JsonObject { ["pool"] = pool, ["userData"] = UserData })).Ok();
        var again = await StorageTestKit.RunAsync(create, seed, new JsonObject { ["pool"] = pool, ["userData"] = UserData });
        var badYaml = await StorageTestKit.RunAsync(create, LabEnvironment.UniqueName("seed"), new JsonObject { ["pool"] = pool, ["userData"] = "a: [unclosed" });

        var iso = Path.Combine(dir, seed);
        var outDir = kit.Cleanup.PathToDelete(Directory.CreateTempSubdirectory("kst-iso-").FullName);
        Assert.Equal(UserData, await ExtractAsync(iso, "user-data", outDir));
        Assert.Equal($"instance-id: {seed}\nlocal-hostname: {seed}\n", await ExtractAsync(iso, "meta-data", outDir));
        var pvd = await HostToolRunner.Default.RunAsync("xorriso", ["-indev", iso, "-pvd_info"], CancellationToken.None);
        Assert.Matches(@"Volume Id\s*:\s*cidata", pvd.Stdout + pvd.Stderr);
        Assert.Equal(iso, (string?)result.View!["filename"]);
        Assert.Contains("already exists", again.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Contains("userData must be YAML", badYaml.Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Equal([iso], Directory.GetFiles(dir));

        (await StorageTestKit.RunAsync(new DeleteCloudInitUserDataImageHandler(kit.Libvirt), seed, new JsonObject { ["pool"] = pool })).Ok();
        Assert.False(File.Exists(iso));
    }
}
