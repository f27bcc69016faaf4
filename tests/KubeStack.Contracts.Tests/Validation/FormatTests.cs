using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Tests.Validation;

public class FormatTests
{
    [Theory]
    [InlineData("192.168.1.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("256.1.1.1", false)]
    [InlineData("192.168.01.1", false)]
    [InlineData("192.168.1", false)]
    [InlineData("192.168.1.1.1", false)]
    [InlineData(" 192.168.1.1", false)]
    [InlineData("a.b.c.d", false)]
    public void Ipv4_is_a_strict_dotted_quad(string value, bool valid) =>
        Assert.Equal(valid, NetworkFormats.IsIpv4(value));

    [Theory]
    [InlineData("7e:0c:b0:ef:6a:04", true)]
    [InlineData("52:54:00:AB:cd:01", true)]
    [InlineData("fe:54:00:ab:cd:01", false)]
    [InlineData("FE:54:00:ab:cd:01", false)]
    [InlineData("01:00:5e:00:00:01", false)]
    [InlineData("00:00:00:00:00:00", false)]
    [InlineData("7e:0c:b0:ef:6a", false)]
    [InlineData("7e-0c-b0-ef-6a-04", false)]
    [InlineData("7e:0c:b0:ef:6a:0g", false)]
    public void Mac_is_unicast_and_does_not_start_with_fe(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("mac", value).Count == 0);

    [Theory]
    [InlineData("ip4.src == $dmz && tcp.dst == 3306", true)]
    [InlineData("ip4.src == 1.2.3.4 && tcp.dst == 22", true)]
    [InlineData("tcp", true)]
    [InlineData("tcp.src == 22", true)]
    [InlineData("ip4.src == { 192.168.1.100, 192.168.1.102 }", true)]
    [InlineData("ip4.src == 192.168.1.0/24", true)]
    [InlineData("1024 <= tcp.src <= 49151", true)]
    [InlineData("22 <= tcp.dst <= 100 && ( ip4.src == $dmz || ip4.src == 192.168.1.0/24 )", true)]
    [InlineData("!icmp && udp.dst != 53", true)]
    [InlineData("outport == \"vm1-port\" && ip4", true)]
    [InlineData("ip4.src==1.2.3.4", false)]
    [InlineData("ip4.src ==  1.2.3.4", false)]
    [InlineData("ip4.src == 1.2.3.4 &&tcp", false)]
    [InlineData("ip4.src == 300.1.1.1", false)]
    [InlineData("tcp.dst == 70000", false)]
    [InlineData("tcp.dst == $web", false)]
    [InlineData("ip4.src < 1.2.3.4", false)]
    [InlineData("ip4.src == 1.2.3.4 && (tcp", false)]
    [InlineData("foo.bar == 1", false)]
    [InlineData("ip4.src == 1.2.3.4; rm -rf /", false)]
    [InlineData("", false)]
    [InlineData(" tcp", false)]
    public void Acl_rule_follows_the_documented_OVN_match_syntax(string rule, bool valid)
    {
        var problems = AclRule.Check(rule);
        Assert.True(valid == (problems.Count == 0), string.Join(" | ", problems));
    }

    [Theory]
    [InlineData("uuid=950646e8-c17a-49d0-b83c-1c797811e001", true)]
    [InlineData("uuid=950646e8c17a49d0b83c1c797811e001", true)]
    [InlineData("uuid=950646E8-c17a-49d0-b83c-1c797811e001", false)]
    [InlineData("uuid=950646e8-c17a-49d0-b83c", false)]
    [InlineData("id=950646e8-c17a-49d0-b83c-1c797811e001", false)]
    public void Metadata_carries_a_uuid_libvirt_accepts(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("metadataUuid", value).Count == 0);

    [Theory]
    [InlineData("192.168.5.1/24", true)]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("172.16.0.0/16", true)]
    [InlineData("192.168.5.0/26", false)]
    [InlineData("192.168.5.0", false)]
    [InlineData("192.168.5.0/024", false)]
    public void Switch_subnet_has_a_prefix_of_8_16_or_24(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("cidr", value).Count == 0);

    [Theory]
    [InlineData("192.168.5.2 192.168.5.10..192.168.5.100", true)]
    [InlineData("192.168.5.2", true)]
    [InlineData("192.168.5.100..192.168.5.10", false)]
    [InlineData("192.168.5.2,192.168.5.3", false)]
    public void Exclusion_list_holds_addresses_and_ranges(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("excludeIps", value).Count == 0);

    [Theory]
    [InlineData("172.16.1.214", true)]
    [InlineData("ftp.example.com", true)]
    [InlineData("node22", true)]
    [InlineData("300.16.1.214", false)]
    [InlineData("-ftp.example.com", false)]
    [InlineData("ftp..example.com", false)]
    [InlineData("ftp server", false)]
    public void Host_is_an_ipv4_address_or_a_dns_name(string value, bool valid) =>
        Assert.Equal(valid, NetworkFormats.IsHost(value));

    [Theory]
    [InlineData("usb,type=tcp,server=192.168.1.1:4000", true)]
    [InlineData("usb,type=spicevmc", true)]
    [InlineData("usb,type=tcp,server=192.168.1.1", false)]
    [InlineData("pci,type=tcp,server=192.168.1.1:4000", false)]
    [InlineData("usb,type=tcp,server=192.168.1.1:0", false)]
    public void Redirdev_is_a_usb_redirection(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("redirdev", value).Count == 0);

    [Theory]
    [InlineData("vda,/var/lib/libvirt/images/disk1", true)]
    [InlineData("vda,vdb", true)]
    [InlineData("vda,,vdb", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("disk1", false)]
    public void DeleteVM_storage_lists_targets_or_paths(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("storageList", value).Count == 0);

    [Theory]
    [InlineData("source=br-int,ip=192.168.5.2,switch=switch", true)]
    [InlineData("source=virbr0", true)]
    [InlineData("source=br-int,switch=switch8", true)]
    [InlineData("ip=192.168.5.2,source=br-int", false)]
    [InlineData("source=br-int,ip=192.168.5.300", false)]
    [InlineData("source=br-int,mac=7e:0c:b0:ef:6a:04", false)]
    [InlineData("source=br-int,source=br-ex", false)]
    public void PlugNIC_source_keys_come_in_order(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("nicSource", value).Count == 0);

    [Theory]
    [InlineData("/var/lib/libvirt/images/test1.qcow2 --file /var/lib/libvirt/images/test2.qcow2", true)]
    [InlineData("/var/lib/libvirt/images/test1.qcow2", true)]
    [InlineData("/var/lib/libvirt/images/test1.qcow2 --file /root/test2.qcow2", false)]
    [InlineData("/var/lib/libvirt/images/test1.qcow2 /var/lib/libvirt/images/test2.qcow2", false)]
    public void CloneVM_files_are_paths_joined_by_file_flags(string value, bool valid) =>
        Assert.Equal(valid, FormatRegistry.Check("fileList", value).Count == 0);

    [Fact]
    public void Ssh_key_must_be_an_openssh_public_key_whose_blob_matches_its_type()
    {
        var blob = new byte[4 + 11 + 8];
        blob[3] = 11;
        System.Text.Encoding.ASCII.GetBytes("ssh-ed25519").CopyTo(blob, 4);
        var key = "ssh-ed25519 " + Convert.ToBase64String(blob) + " user@host.example.com";
        Assert.Empty(FormatRegistry.Check("sshPublicKey", key));
        Assert.NotEmpty(FormatRegistry.Check("sshPublicKey", "ssh-rsa " + Convert.ToBase64String(blob)));
        Assert.NotEmpty(FormatRegistry.Check("sshPublicKey", "ssh-foo " + Convert.ToBase64String(blob)));
        Assert.NotEmpty(FormatRegistry.Check("sshPublicKey", "ssh-ed25519 not*base64"));
    }

    [Fact]
    public void Cloud_init_user_data_must_parse_as_yaml()
    {
        Assert.Empty(FormatRegistry.Check("cloudInitUserData", "#cloud-config\nhostname: vm1\nusers:\n  - name: alice\n"));
        Assert.Empty(FormatRegistry.Check("cloudInitUserData", "#!/bin/sh\necho hello\n"));
        Assert.NotEmpty(FormatRegistry.Check("cloudInitUserData", "users: [alice\n"));
    }

    [Theory]
    [InlineData("/var/lib/libvirt/images/test1.qcow2", true)]
    [InlineData("/var/lib/libvirt/ISO/CentOS-7-x86_64-Minimal-1511.iso", true)]
    [InlineData("/mnt/localfs/pool1/disk1.qcow2", true)]
    [InlineData("/mnt/usb/backup/vm1.tar", true)]
    [InlineData("/var/lib/libvirt/images/../../../etc/shadow", false)]
    [InlineData("/var/lib/libvirt/./images/disk", false)]
    [InlineData("/var/lib/libvirt//images/disk", false)]
    [InlineData("/var/lib/libvirt/images/", false)]
    [InlineData("var/lib/libvirt/images/disk", false)]
    [InlineData("/var/lib/libvirtual/disk.qcow2", false)]
    [InlineData("/opt/ISO/CentOS-7-x86_64-Minimal-1511.iso", false)]
    [InlineData("/var/lib/libvirt/images/disk 1.qcow2", false)]
    [InlineData("/var/lib/libvirt/images/disk;rm.qcow2", false)]
    [InlineData("/var/lib/libvirt", false)]
    public void Path_rule_allows_only_clean_paths_below_the_roots(string path, bool valid) =>
        Assert.Equal(valid, PathRule.IsValid(path));
}
