using System.Text.Json.Nodes;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.Common.Backups;

namespace KubeStack.HostIntegration.Tests.Backup;

/// <summary>The FTP parameters of a request, the remote layout and chain ordering (pure: no server, no libvirt).</summary>
public sealed class RemoteBackupParameterTests
{
    private const string Secret = "pa ss:word@42";

    [Fact]
    public void Without_any_FTP_parameter_there_is_no_server_and_the_port_defaults_to_21()
    {
        Assert.Null(RemoteBackupServer.Optional(new JsonObject { ["pool"] = "p" }, "backupVM"));
        var server = RemoteBackupServer.Optional(new JsonObject { ["remote"] = "ftp.example.org", ["username"] = "ftpuser", ["password"] = Secret }, "backupVM");
        Assert.NotNull(server);
        Assert.Equal(("ftp.example.org", 21), (server.Endpoint.Host, server.Endpoint.Port));
        Assert.Equal("ftpuser@ftp.example.org:21", server.ToString());
        Assert.DoesNotContain(Secret, server.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("username", "backupVM.username is missing")]
    [InlineData("password", "backupVM.password is missing")]
    [InlineData("remote", "backupVM.remote is missing")]
    public void The_FTP_parameters_come_as_a_group(string left, string expected)
    {
        var request = new JsonObject { ["remote"] = "10.0.0.1", ["port"] = "2121", ["username"] = "u", ["password"] = Secret };
        request.Remove(left);
        var ex = Assert.Throws<RequestParameterException>(() => RemoteBackupServer.Optional(request, "backupVM"));
        Assert.Equal(left, ex.Parameter);
        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("port", "0", "port '0' must be a TCP port")]
    [InlineData("port", "21a", "port '21a' must be a TCP port")]
    [InlineData("remote", "host;rm", "remote 'host;rm' must be an IPv4 address or a DNS host name")]
    [InlineData("username", "a b", "username 'a b' must be 1-64")]
    public void Values_that_break_the_rules_are_refused_naming_the_field(string key, string value, string expected)
    {
        var request = new JsonObject { ["remote"] = "10.0.0.1", ["port"] = "21", ["username"] = "u", ["password"] = Secret, [key] = value };
        var ex = Assert.Throws<RequestParameterException>(() => RemoteBackupServer.Required(request, "pushRemoteBackup"));
        Assert.Equal(key, ex.Parameter);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_that_breaks_the_rules_is_refused_without_showing_it()
    {
        var bad = "bad\u00e9password";
        var ex = Assert.Throws<RequestParameterException>(() =>
            RemoteBackupServer.Required(new JsonObject { ["remote"] = "h", ["username"] = "u", ["password"] = bad }, "pullRemoteBackup"));
        Assert.Equal("password", ex.Parameter);
        Assert.Contains("the value is not shown", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(bad, ex.Message, StringComparison.Ordinal);
        Assert.Equal("remote", Assert.Throws<RequestParameterException>(() => RemoteBackupServer.Required(new JsonObject(), "pullRemoteBackup")).Parameter);
    }

    [Fact]
    public void The_remote_layout_mirrors_the_local_one_and_refuses_climbing_names()
    {
        Assert.Equal("/kubestack-backups/vm1/vm/v1", RemoteBackupLayout.Version("vm1", null, "v1"));
        Assert.Equal("/kubestack-backups/vm1/disks/data1/v1/data1.qcow2", RemoteBackupLayout.FileIn(RemoteBackupLayout.Version("vm1", "data1", "v1"), "data1.qcow2"));
        Assert.Throws<ArgumentException>(() => RemoteBackupLayout.Version("..", null, "v1"));
        Assert.Throws<ArgumentException>(() => RemoteBackupLayout.Version("vm1", null, "a/b"));
    }

    [Fact]
    public void Parents_are_ordered_oldest_first_across_disks()
    {
        BackupDiskEntry Disk(string target, params string[] chain) => new()
        {
            Target = target, Volume = target, SourcePath = $"/p/{target}", SourceFormat = "qcow2", VirtualSize = 1, Format = "qcow2", File = $"{target}.qcow2",
            Bytes = 1, Sha256 = new string('0', 64), Mode = chain.Length == 1 ? BackupManifest.ModeFull : BackupManifest.ModeIncremental, Chain = chain,
        };
        var manifest = new BackupManifest
        {
            Kind = BackupManifest.KindVm, Domain = "vm1", Version = "v4", Mode = BackupManifest.ModeIncremental, Parent = "v3", Created = DateTimeOffset.UnixEpoch,
            Node = "n", Method = BackupManifest.MethodOfflineCopy, DomainXml = "<domain/>",
            Disks = [Disk("vda", "v4", "v3", "v2", "v1"), Disk("vdb", "v4", "v3")],
        };
        Assert.Equal(["v1", "v2", "v3"], RemoteBackupStore.ParentsOldestFirst(manifest));
    }
}
