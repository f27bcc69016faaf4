using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Ftp;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;
using KubeStack.NodeAgent.Runtime;
using VmPull = KubeStack.NodeAgent.Lifecycle.VirtualMachine.PullRemoteBackupHandler;
using VmPush = KubeStack.NodeAgent.Lifecycle.VirtualMachine.PushRemoteBackupHandler;
using VmDelete = KubeStack.NodeAgent.Lifecycle.VirtualMachine.DeleteRemoteBackupHandler;
using PoolPull = KubeStack.NodeAgent.Lifecycle.VirtualMachinePool.PullRemoteBackupHandler;
using PoolPush = KubeStack.NodeAgent.Lifecycle.VirtualMachinePool.PushRemoteBackupHandler;
using PoolDelete = KubeStack.NodeAgent.Lifecycle.VirtualMachinePool.DeleteRemoteBackupHandler;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>
/// The remote-backup handlers against the lab's vsftpd and real dir pools: push → delete local → pull gives the same
/// bytes; incremental chains travel with their parents; deletes and cleans remove exactly what they should; a cut
/// transfer resumes; failures get clear error classes and never show the password. Results are checked on the
/// server's disk (the FTP root is on this machine). In the lab collection: they use libvirtd, and the
/// deleteRemoteBackupServer test removes every backup this node made there.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RemoteBackupTests : IDisposable
{
    private readonly RemoteBackupKit _kit = new();

    public void Dispose() => _kit.Dispose();

    private JsonObject VmRequest(string version, string? vol = null, int port = FtpLab.Port, string password = FtpLab.Password)
    {
        var extra = new JsonObject { ["pool"] = _kit.PoolName, ["version"] = version };
        if (vol is not null)
        {
            extra["vol"] = vol;
        }

        return RemoteBackupKit.Request(extra, port, password);
    }

    private JsonObject PoolRequest(string domain, string version, string? vol = null)
    {
        var request = VmRequest(version, vol);
        request["domain"] = domain;
        return request;
    }

    [FtpLabFact]
    public async Task Push_then_delete_local_then_pull_gives_back_the_same_bytes_and_manifest()
    {
        var domain = _kit.NewDomain();
        var manifest = await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x5a);
        var localDir = _kit.LocalVersionDir(domain, null, "v1");
        var original = await File.ReadAllBytesAsync(Path.Combine(localDir, "vda.qcow2"));
        var originalManifest = await File.ReadAllTextAsync(Path.Combine(localDir, "manifest.json"));

        var pushed = (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Ok();
        Assert.Contains("uploaded version(s) v1", pushed.Message, StringComparison.Ordinal);
        var serverDir = RemoteBackupKit.ServerVersionDir(domain, null, "v1");
        Assert.Equal(["manifest.json", "vda.qcow2", "vda.qcow2.sha256"], Directory.GetFiles(serverDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(serverDir, "vda.qcow2")));
        Assert.StartsWith(manifest.Disks[0].Sha256 + "  vda.qcow2", await File.ReadAllTextAsync(Path.Combine(serverDir, "vda.qcow2.sha256")), StringComparison.Ordinal);

        Directory.Delete(_kit.Layout.DomainDirectory(domain), recursive: true);
        var pulled = (await StorageTestKit.RunAsync(new VmPull(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Ok();
        Assert.Contains("downloaded version(s) v1", pulled.Message, StringComparison.Ordinal);

        Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(localDir, "vda.qcow2")));
        Assert.Equal(originalManifest, await File.ReadAllTextAsync(Path.Combine(localDir, "manifest.json")));
        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(localDir, "vda.qcow2"), 0x5a, 0, 1024 * 1024));
    }

    [FtpLabFact]
    public async Task Pushing_an_incremental_version_uploads_its_parent_first_and_pulling_brings_the_whole_chain_back()
    {
        var domain = _kit.NewDomain();
        var full = await _kit.WriteVersionAsync(domain, "data1", "f1", pattern: 0x11);
        await _kit.WriteVersionAsync(domain, "data1", "i2", pattern: 0x22, dataBytes: 64 * 1024, parent: full, offset: 2 * 1024 * 1024);

        var pushed = (await StorageTestKit.RunAsync(new PoolPush(_kit.Storage.Libvirt), _kit.PoolName, PoolRequest(domain, "i2", "data1"))).Ok();
        Assert.Contains("uploaded version(s) f1, i2", pushed.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, "data1", "f1"), "manifest.json")));
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, "data1", "i2"), "manifest.json")));

        Directory.Delete(_kit.Layout.DomainDirectory(domain), recursive: true);
        (await StorageTestKit.RunAsync(new PoolPull(_kit.Storage.Libvirt), _kit.PoolName, PoolRequest(domain, "i2", "data1"))).Ok();

        var incremental = Path.Combine(_kit.LocalVersionDir(domain, "data1", "i2"), "data1.qcow2");
        Assert.True(File.Exists(Path.Combine(_kit.LocalVersionDir(domain, "data1", "f1"), "manifest.json")), "the parent came back complete");
        Assert.True(await StorageTestKit.ReadsAsync(incremental, 0x11, 0, 1024 * 1024), "the parent's data reads through the relative backing file");
        Assert.True(await StorageTestKit.ReadsAsync(incremental, 0x22, 2 * 1024 * 1024, 64 * 1024));
    }

    [FtpLabFact]
    public async Task Pushing_again_is_verified_success_and_a_different_remote_version_of_the_same_name_is_refused()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x31);
        var push = new VmPush(_kit.Storage.Libvirt);
        (await StorageTestKit.RunAsync(push, domain, VmRequest("v1"))).Ok();
        var again = (await StorageTestKit.RunAsync(push, domain, VmRequest("v1"))).Ok();
        Assert.Contains("were already there and verified", again.Message, StringComparison.Ordinal);

        Directory.Delete(_kit.LocalVersionDir(domain, null, "v1"), recursive: true);
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x32);
        var refused = (await StorageTestKit.RunAsync(push, domain, VmRequest("v1"))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("already holds a different version v1", refused.Message, StringComparison.Ordinal);
        Assert.True(await StorageTestKit.ReadsAsync(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v1"), "vda.qcow2"), 0x31, 0, 1024 * 1024),
            "the server's version was not overwritten");
    }

    [FtpLabFact]
    public async Task Pushing_an_incomplete_or_missing_local_version_is_refused_and_uploads_nothing()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x41);
        File.Delete(Path.Combine(_kit.LocalVersionDir(domain, null, "v1"), "manifest.json"));
        var push = new VmPush(_kit.Storage.Libvirt);

        var incomplete = (await StorageTestKit.RunAsync(push, domain, VmRequest("v1"))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("is incomplete (no manifest.json", incomplete.Message, StringComparison.Ordinal);
        var missing = (await StorageTestKit.RunAsync(push, domain, VmRequest("v9"))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("There is no local backup version v9", missing.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RemoteBackupKit.ServerDomainDir(domain)));
    }

    [FtpLabFact]
    public async Task Pushing_a_locally_damaged_version_is_refused_before_upload()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x42);
        var data = Path.Combine(_kit.LocalVersionDir(domain, null, "v1"), "vda.qcow2");
        await using (var stream = new FileStream(data, FileMode.Open, FileAccess.Write))
        {
            stream.Seek(-10, SeekOrigin.End);
            stream.WriteByte(0xff);
        }

        var refused = (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("is damaged: the SHA-256 of", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v1"), "vda.qcow2")));
    }

    [FtpLabFact]
    public async Task Pull_of_a_remote_file_damaged_on_the_server_is_refused_and_writes_no_local_manifest()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x51);
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Ok();
        var onServer = Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v1"), "vda.qcow2");
        await using (var stream = new FileStream(onServer, FileMode.Open, FileAccess.Write))
        {
            stream.Seek(100, SeekOrigin.Begin);
            stream.WriteByte(0x00);
            stream.WriteByte(0x01);
        }

        Directory.Delete(_kit.Layout.DomainDirectory(domain), recursive: true);
        var refused = (await StorageTestKit.RunAsync(new VmPull(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("does not match its manifest", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_kit.LocalVersionDir(domain, null, "v1"), "manifest.json")));
    }

    [FtpLabFact]
    public async Task Pull_of_a_version_without_remote_manifest_is_refused_as_incomplete()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x52);
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1"))).Ok();
        File.Delete(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v1"), "manifest.json"));
        Directory.Delete(_kit.Layout.DomainDirectory(domain), recursive: true);

        var pull = new VmPull(_kit.Storage.Libvirt);
        Assert.Contains("is incomplete (no manifest.json: an interrupted upload)",
            (await StorageTestKit.RunAsync(pull, domain, VmRequest("v1"))).Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("holds no version v2",
            (await StorageTestKit.RunAsync(pull, domain, VmRequest("v2"))).Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
    }

    [FtpLabFact]
    public async Task DeleteRemoteBackup_removes_only_that_version_and_a_missing_one_fails_first_then_succeeds_on_resume()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x61);
        await _kit.WriteVersionAsync(domain, null, "v2", pattern: 0x62);
        await _kit.WriteVersionAsync(domain, "data1", "v1", pattern: 0x63);
        var push = new PoolPush(_kit.Storage.Libvirt);
        foreach (var (version, vol) in new[] { ("v1", (string?)null), ("v2", null), ("v1", "data1") })
        {
            (await StorageTestKit.RunAsync(push, _kit.PoolName, PoolRequest(domain, version, vol))).Ok();
        }

        var delete = new VmDelete();
        var deleted = (await StorageTestKit.RunAsync(delete, domain, RemoteBackupKit.Request(new JsonObject { ["version"] = "v1" }))).Ok();
        Assert.Contains("was deleted from the FTP server kstftp@127.0.0.1:2121", deleted.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RemoteBackupKit.ServerVersionDir(domain, null, "v1")));
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v2"), "manifest.json")));
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, "data1", "v1"), "manifest.json")));
        Assert.True(File.Exists(Path.Combine(_kit.LocalVersionDir(domain, null, "v1"), "manifest.json")), "the local version is not touched");

        var again = RemoteBackupKit.Request(new JsonObject { ["version"] = "v1" });
        Assert.Contains("holds no backup version v1", (await StorageTestKit.RunAsync(delete, domain, again)).Fails(ErrorClasses.VirtctlError).Message, StringComparison.Ordinal);
        Assert.Contains("no longer on the FTP server", (await StorageTestKit.RunAsync(delete, domain, again, attempt: 2)).Ok().Message, StringComparison.Ordinal);

        var noServer = (await StorageTestKit.RunAsync(delete, domain, new JsonObject { ["version"] = "v2" })).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("needs the FTP server", noServer.Message, StringComparison.Ordinal);

        var poolDelete = new PoolDelete();
        (await StorageTestKit.RunAsync(poolDelete, _kit.PoolName, RemoteBackupKit.Request(new JsonObject { ["domain"] = domain, ["vol"] = "data1", ["version"] = "v1" }))).Ok();
        Assert.False(Directory.Exists(Path.Combine(RemoteBackupKit.ServerDomainDir(domain), "disks")), "empty disks/ directories are removed");
        Assert.True(Directory.Exists(RemoteBackupKit.ServerVersionDir(domain, null, "v2")));
    }

    [FtpLabFact]
    public async Task Deleting_a_remote_parent_that_an_incremental_version_needs_is_refused()
    {
        var domain = _kit.NewDomain();
        var full = await _kit.WriteVersionAsync(domain, null, "f1", pattern: 0x71);
        await _kit.WriteVersionAsync(domain, null, "i2", pattern: 0x72, dataBytes: 64 * 1024, parent: full);
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("i2"))).Ok();

        var refused = (await StorageTestKit.RunAsync(new VmDelete(), domain, RemoteBackupKit.Request(new JsonObject { ["version"] = "f1" })))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Contains("is the parent of version(s) i2", refused.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "f1"), "manifest.json")));
    }

    [FtpLabFact]
    public async Task CleanVMRemoteBackup_removes_the_listed_and_partial_versions_and_all_removes_the_scope_only()
    {
        var domain = _kit.NewDomain();
        var other = _kit.NewDomain();
        foreach (var v in new[] { "v1", "v2", "v3" })
        {
            await _kit.WriteVersionAsync(domain, null, v, pattern: 0x10);
        }

        await _kit.WriteVersionAsync(domain, "data1", "d1", pattern: 0x20);
        await _kit.WriteVersionAsync(other, null, "v1", pattern: 0x30);
        var push = new PoolPush(_kit.Storage.Libvirt);
        foreach (var (d, v, vol) in new[] { (domain, "v1", (string?)null), (domain, "v2", null), (domain, "v3", null), (domain, "d1", "data1"), (other, "v1", null) })
        {
            (await StorageTestKit.RunAsync(push, _kit.PoolName, PoolRequest(d, v, vol))).Ok();
        }

        File.Delete(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v3"), "manifest.json")); // an interrupted upload
        var clean = new CleanVMRemoteBackupHandler();
        var listed = (await StorageTestKit.RunAsync(clean, _kit.PoolName,
            RemoteBackupKit.Request(new JsonObject { ["domain"] = domain, ["version"] = "v1,v7" }))).Ok();
        Assert.Contains("found vm/v1, vm/v2, vm/v3 (partial), disks/data1/d1; removed vm/v1, vm/v3. Not on the server: v7.", listed.Message, StringComparison.Ordinal);
        Assert.Equal(["v2"], Directory.GetDirectories(Path.Combine(RemoteBackupKit.ServerDomainDir(domain), "vm")).Select(Path.GetFileName));
        Assert.True(Directory.Exists(RemoteBackupKit.ServerVersionDir(domain, "data1", "d1")));

        var all = (await StorageTestKit.RunAsync(clean, _kit.PoolName, RemoteBackupKit.Request(new JsonObject { ["domain"] = domain, ["all"] = "true" }))).Ok();
        Assert.Contains("removed vm/v2, disks/data1/d1", all.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RemoteBackupKit.ServerDomainDir(domain)));
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(other, null, "v1"), "manifest.json")), "another VM's backups stay");

        var neither = (await StorageTestKit.RunAsync(clean, _kit.PoolName, RemoteBackupKit.Request(new JsonObject { ["domain"] = domain })))
            .Fails(ErrorClasses.VirtctlError);
        Assert.Contains("exactly one of version", neither.Message, StringComparison.Ordinal);
    }

    [FtpLabFact]
    public async Task CleanVMRemoteBackup_refuses_to_remove_a_parent_of_a_kept_version()
    {
        var domain = _kit.NewDomain();
        var full = await _kit.WriteVersionAsync(domain, null, "f1", pattern: 0x71);
        await _kit.WriteVersionAsync(domain, null, "i2", pattern: 0x72, dataBytes: 64 * 1024, parent: full);
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("i2"))).Ok();

        var refused = (await StorageTestKit.RunAsync(new CleanVMRemoteBackupHandler(), _kit.PoolName,
            RemoteBackupKit.Request(new JsonObject { ["domain"] = domain, ["version"] = "f1" }))).Fails(ErrorClasses.VirtctlError);
        Assert.Contains("vm/f1 (needed by i2)", refused.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "f1"), "manifest.json")));
    }

    [FtpLabFact]
    public async Task DeleteRemoteBackupServer_removes_only_this_nodes_backups_and_keeps_other_nodes_and_their_parents()
    {
        // mine: only this node's backups; chained: this node's full f1 with another node's incremental i2 on it
        // (a VM that moved); theirs: another node's (or cluster's) backup of a VM of the same account
        var mine = _kit.NewDomain();
        var chained = _kit.NewDomain();
        var theirs = _kit.NewDomain();
        await _kit.WriteVersionAsync(mine, null, "v1", pattern: 0x81);
        var f1 = await _kit.WriteVersionAsync(chained, null, "f1", pattern: 0x82);
        await _kit.WriteVersionAsync(chained, null, "i2", pattern: 0x83, parent: f1, node: "other-node");
        await _kit.WriteVersionAsync(chained, null, "v3", pattern: 0x84);
        await _kit.WriteVersionAsync(theirs, null, "o1", pattern: 0x85, node: "other-node");
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), mine, VmRequest("v1"))).Ok();
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), chained, VmRequest("i2"))).Ok();   // pushes f1 with it
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), chained, VmRequest("v3"))).Ok();
        (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), theirs, VmRequest("o1"))).Ok();
        var (_, outside) = FtpLab.NewDirectory();
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "keep.txt"), "not a backup");
        try
        {
            var handler = new DeleteRemoteBackupServerHandler();
            var done = (await StorageTestKit.RunAsync(handler, _kit.PoolName, RemoteBackupKit.Server())).Ok();

            Assert.Contains($"made by node {StorageTestKit.Node} were removed", done.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(RemoteBackupKit.ServerDomainDir(mine)), "this node's only backups are gone, with their directory");
            Assert.False(Directory.Exists(RemoteBackupKit.ServerVersionDir(chained, null, "v3")));
            Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(chained, null, "i2"), "manifest.json")), "another node's version stays");
            Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(chained, null, "f1"), "vda.qcow2")), "the parent a kept version needs stays");
            Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(theirs, null, "o1"), "manifest.json")), "another node's VM stays");
            Assert.Contains($"{chained}/vm/f1", done.Message, StringComparison.Ordinal);
            Assert.Contains($"{theirs}/vm/o1", done.Message, StringComparison.Ordinal);
            Assert.Equal("not a backup", await File.ReadAllTextAsync(Path.Combine(outside, "keep.txt")));
            Assert.True(File.Exists(Path.Combine(_kit.LocalVersionDir(mine, null, "v1"), "manifest.json")), "local backups are not touched");

            // again: nothing of this node can go, nothing changes
            var again = (await StorageTestKit.RunAsync(handler, _kit.PoolName, RemoteBackupKit.Server())).Ok();
            Assert.Contains("nothing was removed", again.Message, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(RemoteBackupKit.ServerVersionDir(chained, null, "f1"), "manifest.json")));
        }
        finally
        {
            FtpLab.Remove(outside);
        }
    }

    [FtpLabFact]
    public async Task A_push_whose_transfer_is_cut_resumes_and_the_server_copy_matches()
    {
        var domain = _kit.NewDomain();
        var manifest = await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0x91, dataBytes: 6 * 1024 * 1024);
        await using var proxy = new FtpDropProxy();
        var previous = RemoteBackupRequests.RetryPolicy;
        RemoteBackupRequests.RetryPolicy = FtpLab.FastRetry;
        try
        {
            // only the data file's upload carries more than 2 MB: it is cut there once
            proxy.CutNextDataConnections(1, afterBytes: 2_000_000);
            var pushed = (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1", port: proxy.Port))).Ok();
            Assert.Contains("interrupted transfer(s) resumed", pushed.Message, StringComparison.Ordinal);
            Assert.Equal(1, proxy.Cuts);
        }
        finally
        {
            RemoteBackupRequests.RetryPolicy = previous;
        }

        Assert.Equal(manifest.Disks[0].Sha256, FtpLab.Sha256(Path.Combine(RemoteBackupKit.ServerVersionDir(domain, null, "v1"), "vda.qcow2")));
    }

    [FtpLabFact]
    public async Task A_wrong_password_is_a_VirtctlError_that_does_not_show_the_password()
    {
        const string secret = "Not-The-Lab-Pass-42";
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0xa1);
        var failure = (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1", password: secret))).Fails(ErrorClasses.VirtctlError);
        Assert.False(failure.Retryable);
        Assert.Contains("refused the login of user kstftp", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, failure.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RemoteBackupKit.ServerDomainDir(domain)));
    }

    [FtpLabFact]
    public async Task An_unreachable_server_is_a_retryable_Exception()
    {
        var domain = _kit.NewDomain();
        await _kit.WriteVersionAsync(domain, null, "v1", pattern: 0xa2);
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var failure = (await StorageTestKit.RunAsync(new VmPush(_kit.Storage.Libvirt), domain, VmRequest("v1", port: port))).Fails(ErrorClasses.Exception);
        Assert.True(failure.Retryable);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(FtpLab.Password, failure.Message, StringComparison.Ordinal);
    }

    [FtpLabFact]
    public async Task FTP_parameters_that_break_the_rules_are_refused_naming_the_field()
    {
        var domain = _kit.NewDomain();
        var push = new VmPush(_kit.Storage.Libvirt);
        var noPassword = VmRequest("v1");
        noPassword.Remove("password");
        Assert.Contains("pushRemoteBackup.password is missing", (await StorageTestKit.RunAsync(push, domain, noPassword)).Fails(ErrorClasses.VirtctlError).Message,
            StringComparison.Ordinal);
        var badPort = VmRequest("v1");
        badPort["port"] = "70000";
        Assert.Contains("pushRemoteBackup.port '70000'", (await StorageTestKit.RunAsync(push, domain, badPort)).Fails(ErrorClasses.VirtctlError).Message,
            StringComparison.Ordinal);
        var badVersion = VmRequest("../x");
        Assert.Contains("pushRemoteBackup.version", (await StorageTestKit.RunAsync(push, domain, badVersion)).Fails(ErrorClasses.VirtctlError).Message,
            StringComparison.Ordinal);
    }
}
