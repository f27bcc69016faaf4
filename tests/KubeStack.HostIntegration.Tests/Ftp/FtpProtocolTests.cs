using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.HostIntegration.Tests.Ftp;

/// <summary>The pure parsing of the FTP client (no server needed).</summary>
public sealed class FtpProtocolTests
{
    [Theory]
    [InlineData("220 (vsFTPd 3.0.3)", 220, true)]
    [InlineData("211-Features:", 211, false)]
    [InlineData("226", 226, true)]
    public void Reply_lines_give_their_code_and_whether_they_end_the_reply(string line, int code, bool last)
    {
        Assert.True(FtpProtocol.TryParseReplyLine(line, out var c, out var l));
        Assert.Equal((code, last), (c, l));
    }

    [Theory]
    [InlineData(" EPSV")]
    [InlineData("22x ok")]
    [InlineData("2200 no")]
    public void Text_that_is_not_a_reply_line_is_refused(string line) => Assert.False(FtpProtocol.TryParseReplyLine(line, out _, out _));

    [Fact]
    public void Feat_lists_the_features_between_the_first_and_last_line()
    {
        var features = FtpProtocol.ParseFeatures(new FtpReply(211, ["211-Features:", " EPSV", " REST STREAM", " HASH SHA-256*;SHA-1", "211 End"]));
        Assert.Equal(["EPSV", "HASH", "REST"], features.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("REST STREAM", features["rest"]);
    }

    [Fact]
    public void Epsv_and_pasv_replies_give_the_data_port()
    {
        Assert.Equal(30177, FtpProtocol.ParseEpsvPort(new FtpReply(229, ["229 Entering Extended Passive Mode (|||30177|)"])));
        Assert.Equal(30100, FtpProtocol.ParsePasvPort(new FtpReply(227, ["227 Entering Passive Mode (127,0,0,1,117,148)."])));
        Assert.Equal(FtpFailure.Protocol, Assert.Throws<FtpException>(() => FtpProtocol.ParseEpsvPort(new FtpReply(229, ["229 nothing"]))).Failure);
    }

    [Fact]
    public void Unix_list_lines_of_vsftpd_parse_into_entries()
    {
        Assert.Equal(new FtpEntry("x y.bin", FtpEntryType.File, 5000),
            FtpProtocol.ParseUnixListLine("-rw-r--r--    1 999      995          5000 Nov 27 11:32 x y.bin"));
        Assert.Equal(new FtpEntry("vm", FtpEntryType.Directory, null),
            FtpProtocol.ParseUnixListLine("drwxr-xr-x    3 999      995          4096 Jan 02  2025 vm"));
        Assert.Equal(new FtpEntry("l", FtpEntryType.Link, null), FtpProtocol.ParseUnixListLine("lrwxrwxrwx    1 0 0 4 Nov 27 11:32 l -> /etc"));
        Assert.Null(FtpProtocol.ParseUnixListLine("total 12"));
        Assert.Null(FtpProtocol.ParseUnixListLine("drwxr-xr-x    3 999      995          4096 Jan 02  2025 .."));
    }

    [Fact]
    public void Mlsd_lines_parse_into_entries_and_skip_the_directory_itself()
    {
        Assert.Equal(new FtpEntry("a.qcow2", FtpEntryType.File, 42), FtpProtocol.ParseMlsdLine("type=file;size=42;modify=20261127113200; a.qcow2"));
        Assert.Equal(new FtpEntry("vm", FtpEntryType.Directory, null), FtpProtocol.ParseMlsdLine("Type=dir;Modify=20261127113200; vm"));
        Assert.Null(FtpProtocol.ParseMlsdLine("type=cdir; /x"));
    }

    [Fact]
    public void Hash_replies_give_the_lowercase_digest()
    {
        var hex = new string('A', 64);
        Assert.Equal(new string('a', 64), FtpProtocol.ParseHash(new FtpReply(213, [$"213 SHA-256 0-99 {hex} /f"])));
        Assert.Null(FtpProtocol.ParseHash(new FtpReply(502, ["502 no"])));
    }

    [Fact]
    public void Remote_paths_refuse_climbing_and_control_characters()
    {
        Assert.Equal("/kubestack-backups/vm1/vm", FtpPath.Of("kubestack-backups", "vm1", "vm"));
        Assert.Equal("/a", FtpPath.Parent("/a/b"));
        Assert.Throws<ArgumentException>(() => FtpPath.Combine("/a", ".."));
        Assert.Throws<ArgumentException>(() => FtpPath.Combine("/a", "b/c"));
        Assert.Throws<ArgumentException>(() => FtpPath.Segments("/a/\n/b"));
        Assert.Throws<ArgumentException>(() => FtpProtocol.CheckArgument("/a\r\nDELE /b", "path"));
    }

    [Fact]
    public void Credentials_never_print_the_password()
    {
        var credentials = new FtpCredentials("ftpuser", "s3cret-value");
        Assert.DoesNotContain("s3cret-value", credentials.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new FtpCredentials("u", "a\r\nDELE x"));
    }
}
