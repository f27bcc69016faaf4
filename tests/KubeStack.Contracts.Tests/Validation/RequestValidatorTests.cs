using System.Text.Json.Nodes;
using KubeStack.Contracts.Validation;

namespace KubeStack.Contracts.Tests.Validation;

public class RequestValidatorTests
{
    private const string Golden =
        """{"spec":{"nodeName":"node31","lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":"10737418240","format":"qcow2"}}}}""";

    private static JsonObject GoldenSpec() => (JsonObject)JsonNode.Parse(Golden)!["spec"]!;

    private static JsonObject Disk(JsonObject spec) => (JsonObject)spec["lifecycle"]!["createDisk"]!;

    private static IReadOnlyList<ValidationError> Check(string kind, JsonObject spec, string name = "disk1") =>
        RequestValidator.Validate(kind, name, spec);

    private static JsonObject Request(string key, object parameters) =>
        new() { ["lifecycle"] = new JsonObject { [key] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(parameters)) } };

    [Fact]
    public void Golden_uni_virt_createDisk_request_validates()
    {
        Assert.Empty(Check("VirtualMachineDisk", GoldenSpec()));
        Assert.True(RequestValidator.Check("VirtualMachineDisk", "disk1", GoldenSpec()).IsValid);
        Assert.Null(RequestValidator.FirstErrorMessage("VirtualMachineDisk", "disk1", GoldenSpec()));
    }

    [Fact]
    public void Golden_request_with_capacity_10_is_rejected_with_a_clear_range_message()
    {
        var spec = GoldenSpec();
        Disk(spec)["capacity"] = "10";

        var error = Assert.Single(Check("VirtualMachineDisk", spec));

        Assert.Equal("spec.lifecycle.createDisk.capacity", error.Field);
        Assert.Equal(RuleIds.Range, error.Rule);
        Assert.Equal(
            "VirtualMachineDisk 'disk1': parameter 'capacity' of operation 'createDisk' must be a whole number from 1000000000 to 999999999999 (rule range); got '10'.",
            error.Message);
    }

    [Fact]
    public void Golden_request_with_an_extra_parameter_is_rejected_as_not_documented()
    {
        var spec = GoldenSpec();
        Disk(spec)["foo"] = "bar";

        var error = Assert.Single(Check("VirtualMachineDisk", spec));

        Assert.Equal("spec.lifecycle.createDisk.foo", error.Field);
        Assert.Equal(RuleIds.UnknownParameter, error.Rule);
        Assert.StartsWith("VirtualMachineDisk 'disk1': parameter 'foo' is not documented for operation 'createDisk' (documented parameters are type, format, pool, capacity)", error.Message, StringComparison.Ordinal);
        Assert.Equal(error.Message, RequestValidator.FirstErrorMessage("VirtualMachineDisk", "disk1", spec));
    }

    [Theory]
    [InlineData("10,737,418,240", true)]
    [InlineData("10737418240", true)]
    [InlineData("1,000,000,000", true)]
    [InlineData("10,73,418,240", false)]
    [InlineData("1,0000,000", false)]
    [InlineData(",737,418,240", false)]
    [InlineData("10 737 418 240", false)]
    [InlineData("-10737418240", false)]
    [InlineData("1e10", false)]
    [InlineData("999,999,999,999", true)]
    [InlineData("1,000,000,000,000", false)]
    public void Capacity_accepts_thousands_separators_only_in_groups_of_three(string capacity, bool valid)
    {
        var spec = GoldenSpec();
        Disk(spec)["capacity"] = capacity;
        Assert.Equal(valid, Check("VirtualMachineDisk", spec).Count == 0);
    }

    [Fact]
    public void Capacity_with_separators_normalises_to_plain_digits()
    {
        Assert.Equal("10737418240", ParameterValues.NormalizeInteger("10,737,418,240"));
        Assert.Equal("2048", ParameterValues.NormalizeInteger("2048"));
        Assert.Throws<FormatException>(() => ParameterValues.NormalizeInteger("10,7"));
    }

    [Fact]
    public void Capacity_sent_as_a_JSON_number_is_rejected_as_wrong_type()
    {
        var spec = GoldenSpec();
        Disk(spec)["capacity"] = 10737418240;

        var error = Assert.Single(Check("VirtualMachineDisk", spec));

        Assert.Equal(RuleIds.Type, error.Rule);
        Assert.Contains("must be a JSON string", error.Message, StringComparison.Ordinal);
        Assert.Contains("got the JSON number 10737418240", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pool_type_dir_is_accepted_as_the_name_of_localfs_for_disks()
    {
        var spec = GoldenSpec();
        Disk(spec)["type"] = "dir";
        Assert.Empty(Check("VirtualMachineDisk", spec));
    }

    [Fact]
    public void Null_parameter_counts_as_absent()
    {
        var spec = GoldenSpec();
        Disk(spec)["pool"] = null;

        var error = Assert.Single(Check("VirtualMachineDisk", spec));

        Assert.Equal(RuleIds.Required, error.Rule);
        Assert.Equal("spec.lifecycle.createDisk.pool", error.Field);
    }

    [Theory]
    [InlineData("node31", true)]
    [InlineData("node-31.example.com", true)]
    [InlineData("Node31", false)]
    [InlineData("node_31", false)]
    [InlineData("-node", false)]
    [InlineData("", false)]
    public void NodeName_must_be_a_Kubernetes_node_name(string node, bool valid)
    {
        var spec = GoldenSpec();
        spec["nodeName"] = node;
        var errors = Check("VirtualMachineDisk", spec);
        Assert.Equal(valid, errors.Count == 0);
        if (!valid)
        {
            Assert.Equal("spec.nodeName", Assert.Single(errors).Field);
        }
    }

    [Theory]
    [InlineData("disk1", true)]
    [InlineData("950646e8c17a49d0b83c1c797811e001", true)]
    [InlineData("my-disk.v2", true)]
    [InlineData("abc", false)]
    [InlineData("Disk1", false)]
    [InlineData("disk_1", false)]
    [InlineData("disk1-", false)]
    [InlineData(".disk", false)]
    [InlineData("a..b", false)]
    public void Resource_name_follows_the_catalog_name_rule(string name, bool valid)
    {
        var errors = Check("VirtualMachineDisk", GoldenSpec(), name);
        Assert.Equal(valid, errors.Count == 0);
        if (!valid)
        {
            var error = Assert.Single(errors);
            Assert.Equal("metadata.name", error.Field);
            Assert.Equal(RuleIds.Name, error.Rule);
        }
    }

    [Theory]
    [InlineData("capcity", "capacity")]
    [InlineData("Capacity", "capacity")]
    [InlineData("pol", "pool")]
    [InlineData("foo", null)]
    [InlineData("size", null)]
    public void Misspelt_parameter_gets_a_suggestion_only_when_it_is_close(string typed, string? suggestion)
    {
        var spec = GoldenSpec();
        Disk(spec)[typed] = "x";
        var error = Assert.Single(Check("VirtualMachineDisk", spec));
        if (suggestion is null)
        {
            Assert.DoesNotContain("did you mean", error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"did you mean '{suggestion}'?", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unknown_operation_key_is_rejected_with_a_suggestion()
    {
        var error = Assert.Single(Check("VirtualMachineDisk", Request("CreateDisk", new { type = "localfs" })));
        Assert.Equal(RuleIds.UnknownOperation, error.Rule);
        Assert.Contains("did you mean 'createDisk'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Operation_of_another_kind_names_the_kind_it_belongs_to()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("createPool", new { type = "dir", content = "vmd", url = "/var/lib/libvirt/pools/p" })));
        Assert.Equal(RuleIds.WrongKind, error.Rule);
        Assert.Contains("it is an operation of VirtualMachinePool", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shared_operation_name_is_accepted_under_both_of_its_kinds()
    {
        Assert.Empty(Check("VirtualMachine", Request("deleteVMBackup", new { pool = "pool2", version = "v1" })));
        Assert.Empty(Check("VirtualMachinePool", Request("deleteVMBackup", new { domain = "vm12", pool = "pool2", version = "v1" })));
    }

    [Fact]
    public void Unknown_kind_is_rejected()
    {
        var error = Assert.Single(RequestValidator.Validate("VirtualMachineInstance", "vm01", GoldenSpec()));
        Assert.Equal(RuleIds.UnknownKind, error.Rule);
    }

    [Fact]
    public void Spec_without_lifecycle_or_with_an_empty_lifecycle_has_nothing_to_reject()
    {
        Assert.Empty(RequestValidator.Validate("VirtualMachine", "vm01", new JsonObject { ["nodeName"] = "node1" }));
        Assert.Empty(RequestValidator.Validate("VirtualMachine", "vm01", new JsonObject { ["lifecycle"] = new JsonObject() }));
        Assert.Empty(RequestValidator.Validate("VirtualMachine", "vm01", null));
    }

    [Fact]
    public void Operation_without_parameters_accepts_an_empty_object_or_null()
    {
        Assert.Empty(Check("VirtualMachine", Request("startVM", new { }), "vm01"));
        Assert.Empty(Check("VirtualMachine", new JsonObject { ["lifecycle"] = new JsonObject { ["startVM"] = null } }, "vm01"));
        var error = Assert.Single(Check("VirtualMachine", Request("startVM", new { force = true }), "vm01"));
        Assert.Contains("it takes no parameters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Boolean_parameter_written_as_a_string_is_rejected()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("autoStartVM", new { disable = "true" }), "vm01"));
        Assert.Equal(RuleIds.Type, error.Rule);
        Assert.Contains("must be a JSON boolean", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Whole_object_is_validated_from_its_json()
    {
        var obj = JsonNode.Parse("""{"apiVersion":"doslab.io/v1","kind":"VirtualMachineDisk","metadata":{"name":"disk1"},""" + Golden[1..])!.AsObject();
        Assert.True(RequestValidator.CheckObject(obj).IsValid);
        obj["spec"]!["lifecycle"]!["createDisk"]!["capacity"] = "10";
        var result = RequestValidator.CheckObject(obj);
        Assert.False(result.IsValid);
        Assert.Contains("capacity", result.FirstMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_password_is_never_echoed()
    {
        var errors = Check("VirtualMachine", Request("setVncPassword", new { password = "Secret_Pass!" }), "vm01");
        var error = Assert.Single(errors);
        Assert.DoesNotContain("Secret_Pass", error.Message, StringComparison.Ordinal);
        Assert.Contains("not shown because the parameter is secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Graphics_password_is_not_echoed_when_the_graphics_value_is_rejected()
    {
        var parameters = new JsonObject
        {
            ["graphics"] = "rdp,listen=0.0.0.0,password=hunter2secret",
        };
        var errors = RequestValidator.Validate("VirtualMachine", "vm01", new JsonObject { ["lifecycle"] = new JsonObject { ["createAndStartVMFromISO"] = parameters } });
        Assert.All(errors, e => Assert.DoesNotContain("hunter2secret", e.Message, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field.EndsWith(".graphics", StringComparison.Ordinal));
    }

    [Fact]
    public void Redact_removes_passwords_and_url_credentials_from_messages()
    {
        Assert.Equal("bad *** here", ParameterValidator.Redact("bad pw123 here", "vnc,listen=0.0.0.0,password=pw123"));
        Assert.DoesNotContain("admin:s3cret", ParameterValidator.Redact("url uus-iscsi://admin:s3cret@10.0.0.1/p failed", "uus-iscsi://admin:s3cret@10.0.0.1/p"), StringComparison.Ordinal);
    }

    // ---- cross-field rules -------------------------------------------------------------------------------

    [Theory]
    [InlineData("16", true, "16", "1", "1", true)]
    [InlineData("16", true, "8", "2", "1", true)]
    [InlineData("16", true, "4", "2", "1", false)]
    [InlineData("4", null, "4", "2", "1", true)]
    [InlineData("16", null, "4", "2", "1", false)]
    [InlineData("16", null, null, null, null, true)]
    public void ChangeNumberOfCPU_maximum_equals_cores_times_sockets_times_threads(string count, bool? maximum, string? cores, string? sockets, string? threads, bool valid)
    {
        var p = new JsonObject { ["count"] = count };
        if (maximum is { } m) p["maximum"] = m;
        if (cores is not null) p["cores"] = cores;
        if (sockets is not null) p["sockets"] = sockets;
        if (threads is not null) p["threads"] = threads;

        var errors = RequestValidator.Validate("VirtualMachine", "vm01", new JsonObject { ["lifecycle"] = new JsonObject { ["changeNumberOfCPU"] = p } });

        Assert.Equal(valid, errors.Count == 0);
        if (!valid)
        {
            Assert.Equal(RuleIds.CpuTopology, Assert.Single(errors).Rule);
        }
    }

    [Fact]
    public void ChangeNumberOfCPU_maximum_needs_the_whole_topology()
    {
        var errors = Check("VirtualMachine", Request("changeNumberOfCPU", new { count = "16", maximum = true, cores = "16" }), "vm01");
        Assert.Equal(["sockets", "threads"], errors.Select(e => e.Field.Split('.')[^1]));
        Assert.All(errors, e => Assert.Equal(RuleIds.RequiredWith, e.Rule));
    }

    [Fact]
    public void Current_cannot_be_combined_with_live_or_config()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("plugDevice", new { file = "/var/lib/libvirt/dev.xml", current = true, live = true }), "vm01"));
        Assert.Equal(RuleIds.Exclusive, error.Rule);
        Assert.Empty(Check("VirtualMachine", Request("plugDevice", new { file = "/var/lib/libvirt/dev.xml", live = true, config = true }), "vm01"));
    }

    [Fact]
    public void Total_disk_limit_cannot_be_combined_with_read_or_write_limits()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("tuneDiskQoS", new { device = "vda", total_bytes_sec = "1000", read_bytes_sec = "10" }), "vm01"));
        Assert.Equal(RuleIds.Exclusive, error.Rule);
        Assert.Contains("read_bytes_sec", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManageISO_cannot_eject_and_insert_at_once()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("manageISO", new { path = "hda", source = "/var/lib/libvirt/iso/a.iso", eject = true, insert = true, update = false, force = false, block = false }), "vm01"));
        Assert.Equal(RuleIds.Exclusive, error.Rule);
    }

    [Fact]
    public void UpdateGraphic_cannot_set_and_remove_the_password()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("updateGraphic", new { type = "vnc", password = "abcdefg", no_password = true }), "vm01"));
        Assert.Equal("spec.lifecycle.updateGraphic.no_password", error.Field);
    }

    [Fact]
    public void PlugNIC_ip_and_switch_need_an_l3bridge()
    {
        var error = Assert.Single(Check("VirtualMachine", Request("plugNIC", new { type = "bridge", source = "source=br-int,ip=192.168.5.2,switch=switch", mac = "7e:0c:b0:ef:6a:04" }), "vm01"));
        Assert.Equal(RuleIds.L3BridgeOnly, error.Rule);
        Assert.Empty(Check("VirtualMachine", Request("plugNIC", new { type = "bridge", source = "source=virbr0", mac = "7e:0c:b0:ef:6a:04" }), "vm01"));
    }

    [Theory]
    [InlineData("dir", "/var/lib/libvirt/pools/pool2", null, true)]
    [InlineData("localfs", "/mnt/localfs/pool2/data", null, true)]
    [InlineData("dir", "/etc/pools/pool2-data-dir", null, false)]
    [InlineData("dir", "/var/lib/libvirt/pools/pool2", "nolock", false)]
    [InlineData("nfs", "192.168.3.10:/export/pool2", "nolock", true)]
    [InlineData("nfs", "192.168.3.10:/export/pool2", null, false)]
    [InlineData("nfs", "192.168.3.10:export", "nolock", false)]
    [InlineData("glusterfs", "gluster1:vol0", "nolock", true)]
    [InlineData("uus", "uus-iscsi-independent://admin:admin@192.168.3.10:7000/p1/4/2/0/32/0/3", "opt1", true)]
    [InlineData("uus", "http://192.168.3.10/p1", "opt1", false)]
    public void CreatePool_url_and_options_depend_on_the_pool_type(string type, string url, string? opt, bool valid)
    {
        var p = new JsonObject { ["type"] = type, ["content"] = "vmd", ["url"] = url };
        if (opt is not null) p["opt"] = opt;
        var errors = RequestValidator.Validate("VirtualMachinePool", "pool2", new JsonObject { ["lifecycle"] = new JsonObject { ["createPool"] = p } });
        Assert.True(valid == (errors.Count == 0), string.Join(" | ", errors.Select(e => e.Message)));
        Assert.All(errors, e => Assert.DoesNotContain("admin:admin", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Optional_FTP_parameters_come_as_a_group()
    {
        var errors = Check("VirtualMachine", Request("backupVM", new { pool = "pool2", version = "v1", remote = "172.16.1.214" }), "vm01");
        Assert.Equal(["username", "password"], errors.Select(e => e.Field.Split('.')[^1]));
        Assert.Empty(Check("VirtualMachine", Request("backupVM", new { pool = "pool2", version = "v1" }), "vm01"));
        Assert.Empty(Check("VirtualMachine", Request("backupVM", new { pool = "pool2", version = "v1", remote = "ftp.example.com", username = "ftpuser", password = "pw" }), "vm01"));
    }

    [Fact]
    public void CleanVMBackup_needs_versions_or_all_but_not_both()
    {
        Assert.Single(Check("VirtualMachinePool", Request("cleanVMBackup", new { domain = "vm01x", pool = "pool2" }), "pool2"));
        Assert.Single(Check("VirtualMachinePool", Request("cleanVMBackup", new { domain = "vm01x", pool = "pool2", version = "v1", all = true }), "pool2"));
        Assert.Empty(Check("VirtualMachinePool", Request("cleanVMBackup", new { domain = "vm01x", pool = "pool2", all = true }), "pool2"));
        Assert.Empty(Check("VirtualMachinePool", Request("cleanVMBackup", new { domain = "vm01x", pool = "pool2", version = "v1,v2" }), "pool2"));
    }

    [Theory]
    [InlineData("pci", "01", "00", "0", true)]
    [InlineData("pci", "ff", "1f", "7", true)]
    [InlineData("pci", "100", "00", "0", false)]
    [InlineData("pci", "01", "20", "0", false)]
    [InlineData("pci", "01", "00", "8", false)]
    [InlineData("usb", "001", "0", "3", true)]
    [InlineData("usb", "1", "0", "0", false)]
    [InlineData("usb", "1a", "0", "3", false)]
    public void Passthrough_device_numbers_follow_the_device_type(string type, string bus, string slot, string dev, bool valid)
    {
        var errors = Check("VirtualMachine", Request("passthroughDevice", new { action = "add", bus_num = bus, sub_bus_num = slot, dev_num = dev, dev_type = type }), "vm01");
        Assert.True(valid == (errors.Count == 0), string.Join(" | ", errors.Select(e => e.Message)));
    }

    [Fact]
    public void Switch_gateway_dhcp_and_exclusions_lie_in_the_subnet()
    {
        Assert.Empty(Check("VirtualMachineNetwork", Request("createSwitch", new { subnet = "192.168.5.0/24", gateway = "192.168.5.1", dhcp = "192.168.5.2", excludeIPs = "192.168.5.2 192.168.5.10..192.168.5.100" }), "switch8"));
        var errors = Check("VirtualMachineNetwork", Request("createSwitch", new { subnet = "192.168.5.0/24", gateway = "192.168.6.1", excludeIPs = "192.168.5.10..192.168.6.100" }), "switch8");
        Assert.Equal(["gateway", "excludeIPs"], errors.Select(e => e.Field.Split('.')[^1]));
        Assert.All(errors, e => Assert.Equal(RuleIds.InSubnet, e.Rule));
    }

    [Fact]
    public void Address_list_accepts_the_full_width_comma_of_the_documented_example()
    {
        Assert.Empty(Check("VirtualMachineNetwork", Request("createAddress", new { address = "192.168.1.1，192.168.1.2" }), "addr1"));
        Assert.Equal(["192.168.1.1", "192.168.1.2", "10.0.0.1"], ParameterValues.AddressList("192.168.1.1，192.168.1.2, 10.0.0.1"));
    }

    [Fact]
    public void Mtu_accepts_the_documented_example_1500_and_rejects_values_below_68()
    {
        Assert.Empty(Check("VirtualMachineNetwork", Request("modifySwitch", new { mtu = "1500" }), "switch8"));
        Assert.Equal(RuleIds.Range, Assert.Single(Check("VirtualMachineNetwork", Request("modifySwitch", new { mtu = "10" }), "switch8")).Rule);
    }
}
