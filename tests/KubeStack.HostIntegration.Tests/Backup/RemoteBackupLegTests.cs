using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Ftp;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// The <c>remote</c> leg of backupVM and backupDisk (a defined, shut-off VM: offline copies): the new version is pushed
/// to the lab vsftpd after the local backup; a push that fails leaves the local version, and the retry only uploads.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RemoteBackupLegTests : IDisposable
{
    private const long DiskSize = 32L * 1024 * 1024;
    private readonly RemoteBackupKit _kit = new();

    public void Dispose() => _kit.Dispose();

    /// <summary>A shut-off VM (defined, never started) with its system disk in the kit's pool.</summary>
    private async Task<(string Vm, string Disk)> NewVmAsync()
    {
        var vm = _kit.Storage.Cleanup.Domain(_kit.NewDomain());
        var disk = await _kit.Storage.NewDiskAsync(_kit.PoolName, _kit.PoolPath, vm, DiskSize);
        await StorageTestKit.WriteAsync(disk, 0x3c, 0, 1024 * 1024);
        using (_kit.Storage.Connection.DefineXml(LabGuest.DomainXml(vm, Path.Combine(_kit.PoolPath, "serial.log"), disk)))
        {
        }

        return (vm, disk);
    }

    private JsonObject Backup(string version, string password = FtpLab.Password) =>
        RemoteBackupKit.Request(new JsonObject { ["pool"] = _kit.PoolName, ["version"] = version, ["full"] = "true" }, password: password);

    [RemoteLabFact]
    public async Task BackupVM_with_a_server_pushes_the_version_and_a_refused_login_keeps_the_local_version_for_the_retry()
    {
        var (vm, _) = await NewVmAsync();
        var handler = new BackupVMHandler(_kit.Storage.Libvirt, QemuImg.Default, NoCrashInjector.Instance);
        const string secret = "wrong-leg-password";

        var failed = (await StorageTestKit.RunAsync(handler, vm, Backup("r1", secret))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("was made in", failed.Message, StringComparison.Ordinal);
        Assert.Contains("refused the login of user kstftp", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, failed.Message, StringComparison.Ordinal);
        var localDir = _kit.LocalVersionDir(vm, null, "r1");
        Assert.True(File.Exists(Path.Combine(localDir, "manifest.json")), "the local backup was made");
        Assert.False(Directory.Exists(RemoteBackupKit.ServerDomainDir(vm)));

        var retried = (await StorageTestKit.RunAsync(handler, vm, Backup("r1"), attempt: 2)).Ok();
        Assert.Contains($"It is on the FTP server {FtpLab.User}@{FtpLab.Host}:{FtpLab.Port} too: uploaded version(s) r1", retried.Message, StringComparison.Ordinal);
        var serverDir = RemoteBackupKit.ServerVersionDir(vm, null, "r1");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(localDir, "manifest.json")), await File.ReadAllTextAsync(Path.Combine(serverDir, "manifest.json")));
        var manifest = await BackupFiles.ReadManifestAsync(localDir);
        Assert.Equal(manifest!.Disks[0].Sha256, FtpLab.Sha256(Path.Combine(serverDir, manifest.Disks[0].File)));
    }

    [RemoteLabFact]
    public async Task BackupVM_with_an_incomplete_FTP_group_is_refused_before_any_backup()
    {
        var (vm, _) = await NewVmAsync();
        var request = new JsonObject { ["pool"] = _kit.PoolName, ["version"] = "r2", ["remote"] = FtpLab.Host };
        var refused = (await StorageTestKit.RunAsync(new BackupVMHandler(_kit.Storage.Libvirt, QemuImg.Default, NoCrashInjector.Instance), vm, request))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Contains("backupVM.username is missing", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_kit.LocalVersionDir(vm, null, "r2")));
    }

    [RemoteLabFact]
    public async Task BackupDisk_with_a_server_pushes_the_disk_version()
    {
        var (vm, _) = await NewVmAsync();
        var volume = $"{vm}-data";
        var data = await _kit.Storage.NewDiskAsync(_kit.PoolName, _kit.PoolPath, volume, DiskSize);
        await StorageTestKit.WriteAsync(data, 0x4d, 0, 1024 * 1024);
        var request = Backup("d1");
        request["domain"] = vm;

        var done = (await StorageTestKit.RunAsync(new BackupDiskHandler(_kit.Storage.Libvirt, QemuImg.Default, NoCrashInjector.Instance), volume, request,
            volumeView: new JsonObject { ["pool"] = _kit.PoolName })).Ok();

        Assert.Contains("uploaded version(s) d1", done.Message, StringComparison.Ordinal);
        var localDir = _kit.LocalVersionDir(vm, volume, "d1");
        var serverDir = RemoteBackupKit.ServerVersionDir(vm, volume, "d1");
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(localDir, "manifest.json")), await File.ReadAllTextAsync(Path.Combine(serverDir, "manifest.json")));
    }
}
