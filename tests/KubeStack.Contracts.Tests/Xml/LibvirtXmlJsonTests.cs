using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Xml;

namespace KubeStack.Contracts.Tests.Xml;

public class LibvirtXmlJsonTests
{
    private static string Asset(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Xml", "testassets", name));

    public static TheoryData<string, LibvirtDocument> Assets => new()
    {
        { "test-driver-domain.xml", LibvirtDocument.Domain },
        { "test-driver-snapshot.xml", LibvirtDocument.DomainSnapshot },
        { "test-driver-pool.xml", LibvirtDocument.StoragePool },
        { "test-driver-volume.xml", LibvirtDocument.StorageVolume },
        { "test-driver-network.xml", LibvirtDocument.Network },
        { "test-driver-built-topology.xml", LibvirtDocument.Domain },
        { "test-driver-built-ovs.xml", LibvirtDocument.Domain },
        { "lab-guest-domain.xml", LibvirtDocument.Domain },
        { "libvirt-tests-qemu-ns.xml", LibvirtDocument.Domain },
        { "libvirt-tests-net-openvswitch.xml", LibvirtDocument.Domain },
        { "libvirt-tests-metadata.xml", LibvirtDocument.Domain },
        { "libvirt-tests-disk-transient.xml", LibvirtDocument.Domain },
        { "libvirt-tests-seclabel-dynamic-override.xml", LibvirtDocument.Domain },
    };

    [Theory]
    [MemberData(nameof(Assets))]
    public void Real_libvirt_xml_round_trips_losslessly_through_json_text(string asset, LibvirtDocument document)
    {
        var xml = Asset(asset);

        var json = LibvirtXmlJson.ToJson(xml, document);
        // Through the wire: serialise and parse the JSON as a Kubernetes object would be stored.
        var reparsed = JsonNode.Parse(json.ToJsonString())!.AsObject();
        var back = LibvirtXmlJson.ToXml(reparsed, document);

        Assert.Equal(XmlCanonical.Of(xml), XmlCanonical.Of(back));
    }

    [Theory]
    [MemberData(nameof(Assets))]
    public void Encoding_is_stable_after_one_round_trip(string asset, LibvirtDocument document)
    {
        var first = LibvirtXmlJson.ToJson(Asset(asset), document);
        var second = LibvirtXmlJson.ToJson(LibvirtXmlJson.ToXml(first, document), document);

        Assert.True(JsonNode.DeepEquals(first, second), $"{first.ToJsonString()}\n!=\n{second.ToJsonString()}");
    }

    [Fact]
    public void Domain_with_one_disk_one_nic_and_one_boot_device_still_encodes_them_as_arrays()
    {
        var json = LibvirtXmlJson.ToJson(Asset("test-driver-domain.xml"), LibvirtDocument.Domain);
        var devices = json["devices"]!.AsObject();

        var disks = Assert.IsType<JsonArray>(devices["disk"]);
        Assert.Single(disks);
        Assert.Equal("/guest/diskimage1", (string?)disks[0]!["source"]!["_file"]);
        var nics = Assert.IsType<JsonArray>(devices["_interface"]);
        Assert.Single(nics);
        Assert.Equal("aa:bb:cc:dd:ee:ff", (string?)nics[0]!["mac"]!["_address"]);
        Assert.IsType<JsonArray>(json["os"]!["boot"]);
        // Documented single objects stay objects.
        Assert.IsType<JsonObject>(devices["memballoon"]);
        Assert.IsType<JsonObject>(json["os"]!["type"]);
    }

    [Fact]
    public void Built_domain_read_back_from_libvirt_keeps_documented_shapes()
    {
        var json = LibvirtXmlJson.ToJson(Asset("test-driver-built-ovs.xml"), LibvirtDocument.Domain);
        var devices = json["devices"]!.AsObject();

        Assert.Equal(2, Assert.IsType<JsonArray>(devices["_interface"]).Count);
        Assert.Equal(3, Assert.IsType<JsonArray>(devices["controller"]).Count);
        Assert.Single(Assert.IsType<JsonArray>(devices["channel"]));
        Assert.Single(Assert.IsType<JsonArray>(devices["graphics"]));
        Assert.Single(Assert.IsType<JsonArray>(devices["serial"]));
        Assert.IsType<JsonObject>(devices["graphics"]![0]!["listen"]);
        Assert.IsType<JsonObject>(devices["emulator"]);
        Assert.Empty(json["features"]!["acpi"]!.AsObject());
        var parameters = devices["_interface"]![0]!["virtualport"]!["parameters"]!;
        Assert.False(string.IsNullOrEmpty((string?)parameters["_interfaceid"]));
        Assert.Equal("https://doslab.io/kubestack/domain/1.0", (string?)json["metadata"]!["kubestack:instance"]!["_xmlns:kubestack"]);
    }

    [Fact]
    public void Attributes_become_underscore_keys_and_text_goes_under_text()
    {
        var json = LibvirtXmlJson.ToJson(Asset("test-driver-domain.xml"), LibvirtDocument.Domain);

        Assert.Equal("test", (string?)json["_type"]);
        Assert.Equal("1", (string?)json["_id"]);
        Assert.Equal("test", (string?)json["name"]!["text"]);
        Assert.Equal("KiB", (string?)json["memory"]!["_unit"]);
        Assert.Equal("8388608", (string?)json["memory"]!["text"]);
        Assert.Equal("static", (string?)json["vcpu"]!["_placement"]);
        Assert.Equal("2", (string?)json["vcpu"]!["text"]);
    }

    [Fact]
    public void Empty_elements_become_empty_objects()
    {
        var json = LibvirtXmlJson.ToJson(Asset("lab-guest-domain.xml"), LibvirtDocument.Domain);

        var acpi = Assert.IsType<JsonObject>(json["features"]!["acpi"]);
        Assert.Empty(acpi);
        var xml = LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain);
        Assert.NotNull(XElement.Parse(xml).Element("features")!.Element("acpi"));
    }

    [Fact]
    public void Java_keyword_elements_get_a_leading_underscore_and_lose_it_on_the_way_back()
    {
        var json = LibvirtXmlJson.ToJson(Asset("libvirt-tests-disk-transient.xml"), LibvirtDocument.Domain);

        var disk = json["devices"]!["disk"]![0]!.AsObject();
        Assert.True(disk.ContainsKey("_transient"));
        Assert.False(disk.ContainsKey("transient"));
        Assert.Empty(disk["_transient"]!.AsObject());

        var xml = XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));
        Assert.NotNull(xml.Element("devices")!.Element("disk")!.Element("transient"));
        Assert.Null(xml.Element("devices")!.Element("disk")!.Element("_transient"));
    }

    [Fact]
    public void Interface_elements_are_written_underscore_interface_and_read_back_as_interface()
    {
        var json = LibvirtXmlJson.ToJson(Asset("libvirt-tests-net-openvswitch.xml"), LibvirtDocument.Domain);

        var nic = json["devices"]!["_interface"]![0]!.AsObject();
        Assert.Equal("09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f", (string?)nic["virtualport"]!["parameters"]!["_interfaceid"]);
        var tags = Assert.IsType<JsonArray>(nic["vlan"]!["tag"]);
        Assert.Equal(["42", "48", "456"], tags.Select(t => (string?)t!["_id"]));

        var xml = XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));
        Assert.Equal("openvswitch", (string?)xml.Element("devices")!.Element("interface")!.Element("virtualport")!.Attribute("type"));
    }

    [Fact]
    public void Seed_double_underscore_interfaceid_artifact_is_accepted_as_the_interfaceid_attribute()
    {
        var json = JsonNode.Parse("""
            {"_type":"qemu","name":{"text":"vm1"},"devices":{"_interface":[{"_type":"bridge",
             "virtualport":{"_type":"openvswitch","parameters":{"__interfaceid":"port-1"}}}]}}
            """)!.AsObject();

        var xml = XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));

        var parameters = xml.Element("devices")!.Element("interface")!.Element("virtualport")!.Element("parameters")!;
        Assert.Equal("port-1", (string?)parameters.Attribute("interfaceid"));
    }

    [Fact]
    public void Namespaced_elements_keep_their_prefix_and_declaration()
    {
        var json = LibvirtXmlJson.ToJson(Asset("libvirt-tests-qemu-ns.xml"), LibvirtDocument.Domain);

        Assert.Equal("http://libvirt.org/schemas/domain/qemu/1.0", (string?)json["_xmlns:qemu"]);
        var args = Assert.IsType<JsonArray>(json["qemu:commandline"]!["qemu:arg"]);
        Assert.Equal(["-unknown", "parameter"], args.Select(a => (string?)a!["_value"]));

        var text = LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain);
        Assert.Contains("xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\"", text, StringComparison.Ordinal);
        Assert.Contains("<qemu:arg value=\"-unknown\" />", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_children_with_their_own_namespaces_round_trip()
    {
        var json = LibvirtXmlJson.ToJson(Asset("libvirt-tests-metadata.xml"), LibvirtDocument.Domain);

        var foo = json["metadata"]!["app1:foo"]!.AsObject();
        Assert.Equal("http://foo.org/", (string?)foo["_xmlns:app1"]);
        Assert.Equal("fooish", (string?)foo["text"]);
        Assert.Equal("baz", (string?)json["metadata"]!["app2:bar"]!["_maman"]);

        var back = XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));
        var element = back.Element("metadata")!.Element(XName.Get("foo", "http://foo.org/"))!;
        Assert.Equal("app1", element.GetPrefixOfNamespace(element.Name.Namespace));
    }

    [Fact]
    public void Default_namespace_declarations_are_kept()
    {
        const string xml = "<domain type='kvm'><name>a</name><metadata><instance xmlns='urn:x'><owner id='7'>me</owner></instance></metadata></domain>";

        var json = LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain);
        Assert.Equal("urn:x", (string?)json["metadata"]!["instance"]!["_xmlns"]);
        var back = LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain);

        Assert.Equal(XmlCanonical.Of(xml), XmlCanonical.Of(back));
        Assert.NotNull(XElement.Parse(back).Descendants(XName.Get("owner", "urn:x")).SingleOrDefault());
    }

    [Fact]
    public void Snapshot_disks_and_the_embedded_domain_use_their_array_paths()
    {
        var json = LibvirtXmlJson.ToJson(Asset("test-driver-snapshot.xml"), LibvirtDocument.DomainSnapshot);

        Assert.Equal("s1", (string?)json["name"]!["text"]);
        Assert.Equal("internal", (string?)json["memory"]!["_snapshot"]);
        var disks = Assert.IsType<JsonArray>(json["disks"]!["disk"]);
        Assert.Equal("vda", (string?)disks[0]!["_name"]);
        Assert.IsType<JsonArray>(json["domain"]!["devices"]!["disk"]);
        Assert.IsType<JsonArray>(json["domain"]!["devices"]!["_interface"]);
    }

    [Fact]
    public void Network_pool_and_volume_documents_encode_with_their_own_roots()
    {
        var network = LibvirtXmlJson.ToJson(Asset("test-driver-network.xml"), LibvirtDocument.Network);
        Assert.IsType<JsonArray>(network["ip"]);
        Assert.IsType<JsonArray>(network["ip"]![0]!["dhcp"]!["range"]);

        var pool = LibvirtXmlJson.ToJson(Asset("test-driver-pool.xml"), LibvirtDocument.StoragePool);
        Assert.Equal("dir", (string?)pool["_type"]);
        Assert.Empty(pool["source"]!.AsObject());

        var volume = LibvirtXmlJson.ToJson(Asset("test-driver-volume.xml"), LibvirtDocument.StorageVolume);
        Assert.Equal("qcow2", (string?)volume["target"]!["format"]!["_type"]);
    }

    [Fact]
    public void Element_outside_the_table_is_an_object_once_and_an_array_when_it_repeats()
    {
        const string once = "<domain type='kvm'><metadata><x:tag xmlns:x='urn:t' v='1'/></metadata></domain>";
        const string twice = "<domain type='kvm'><metadata xmlns:x='urn:t'><x:tag v='1'/><x:tag v='2'/></metadata></domain>";

        Assert.IsType<JsonObject>(LibvirtXmlJson.ToJson(once, LibvirtDocument.Domain)["metadata"]!["x:tag"]);
        var array = Assert.IsType<JsonArray>(LibvirtXmlJson.ToJson(twice, LibvirtDocument.Domain)["metadata"]!["x:tag"]);
        Assert.Equal(2, array.Count);
    }

    [Fact]
    public void Backing_store_chains_of_any_depth_keep_their_hosts_as_arrays()
    {
        const string xml = """
            <domain type='kvm'><devices><disk type='network' device='disk'>
              <source protocol='nbd' name='a'><host name='h1' port='1'/></source>
              <backingStore type='network'><source protocol='nbd' name='b'><host name='h2'/></source>
                <backingStore type='network'><source protocol='nbd' name='c'><host name='h3'/></source><backingStore/></backingStore>
              </backingStore>
              <target dev='vda' bus='virtio'/></disk></devices></domain>
            """;

        var json = LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain);

        var disk = json["devices"]!["disk"]![0]!;
        Assert.IsType<JsonArray>(disk["source"]!["host"]);
        Assert.IsType<JsonArray>(disk["backingStore"]!["source"]!["host"]);
        Assert.IsType<JsonArray>(disk["backingStore"]!["backingStore"]!["source"]!["host"]);
        Assert.Equal(XmlCanonical.Of(xml), XmlCanonical.Of(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain)));
    }

    [Fact]
    public void Mixed_content_keeps_its_text_and_children()
    {
        const string xml = "<domain type='kvm'><metadata><n:note xmlns:n='urn:n'>hello <n:b>world</n:b></n:note></metadata></domain>";

        var json = LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain);

        var note = json["metadata"]!["n:note"]!;
        Assert.Equal("hello ", (string?)note["text"]);
        Assert.Equal("world", (string?)note["n:b"]!["text"]);
        Assert.Equal(XmlCanonical.Of(xml), XmlCanonical.Of(LibvirtXmlJson.ToXml(json.AsObject(), LibvirtDocument.Domain)));
    }

    [Fact]
    public void Text_is_kept_exactly_including_surrounding_spaces()
    {
        const string xml = "<domain type='kvm'><description>  two  spaces </description></domain>";

        var json = LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain);

        Assert.Equal("  two  spaces ", (string?)json["description"]!["text"]);
        Assert.Equal("  two  spaces ", XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain)).Element("description")!.Value);
    }

    [Fact]
    public void Json_written_by_lenient_clients_with_numbers_booleans_and_plain_strings_is_accepted()
    {
        var json = JsonNode.Parse("""
            {"_type":"kvm","name":"vm1","memory":{"_unit":"MiB","text":512},"vcpu":{"text":2},
             "features":{"acpi":{},"pae":null},"os":{"boot":[{"_dev":"hd"},{"_dev":"cdrom"}]},"x":{"_on":true}}
            """)!.AsObject();

        var xml = XElement.Parse(LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));

        Assert.Equal("vm1", xml.Element("name")!.Value);
        Assert.Equal("512", xml.Element("memory")!.Value);
        Assert.Equal("2", xml.Element("vcpu")!.Value);
        Assert.Null(xml.Element("features")!.Element("pae"));
        Assert.Equal(["hd", "cdrom"], xml.Element("os")!.Elements("boot").Select(b => (string?)b.Attribute("dev")));
        Assert.Equal("true", (string?)xml.Element("x")!.Attribute("on"));
    }

    [Fact]
    public void Wrong_root_element_is_rejected_with_both_names()
    {
        var ex = Assert.Throws<LibvirtXmlJsonException>(
            () => LibvirtXmlJson.ToJson("<pool type='dir'><name>p</name></pool>", LibvirtDocument.Domain));

        Assert.Contains("<pool>", ex.Message, StringComparison.Ordinal);
        Assert.Contains("<domain>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_xml_is_rejected_as_not_well_formed()
    {
        var ex = Assert.Throws<LibvirtXmlJsonException>(
            () => LibvirtXmlJson.ToJson("<domain><name>x</domain>", LibvirtDocument.Domain));

        Assert.Contains("not well-formed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Xml_with_a_dtd_is_refused()
    {
        const string xml = "<!DOCTYPE domain [<!ENTITY e 'x'>]><domain type='kvm'><name>&e;</name></domain>";

        Assert.Throws<LibvirtXmlJsonException>(() => LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain));
    }

    [Fact]
    public void Undeclared_namespace_prefix_in_json_is_rejected_naming_the_prefix()
    {
        var json = JsonNode.Parse("""{"metadata":{"k:instance":{"text":"a"}}}""")!.AsObject();

        var ex = Assert.Throws<LibvirtXmlJsonException>(() => LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));

        Assert.Contains("'k'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("domain/metadata/k:instance", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_xml_name_in_json_is_rejected()
    {
        var json = JsonNode.Parse("""{"bad name":{}}""")!.AsObject();

        var ex = Assert.Throws<LibvirtXmlJsonException>(() => LibvirtXmlJson.ToXml(json, LibvirtDocument.Domain));

        Assert.Contains("'bad name'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_element_whose_name_collides_with_an_attribute_key_is_reported_instead_of_losing_data()
    {
        const string xml = "<domain type='kvm'><x interface='a'><interface/></x></domain>";

        var ex = Assert.Throws<LibvirtXmlJsonException>(() => LibvirtXmlJson.ToJson(xml, LibvirtDocument.Domain));

        Assert.Contains("_interface", ex.Message, StringComparison.Ordinal);
    }
}
