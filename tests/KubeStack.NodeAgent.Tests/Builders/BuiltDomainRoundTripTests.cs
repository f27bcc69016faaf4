using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Xml;

namespace KubeStack.NodeAgent.Tests.Builders;

/// <summary>
/// Builder → libvirt → codec: every golden domain is defined and started in libvirt's test driver, read back with
/// <c>virsh dumpxml</c>, encoded as the seed's <c>spec.domain</c> JSON and decoded again without loss.
/// </summary>
public class BuiltDomainRoundTripTests
{
    public static TheoryData<string> Cases => new(GoldenCase.All());

    [RequiresToolTheory("virsh")]
    [MemberData(nameof(Cases))]
    public async Task Domain_read_back_from_libvirt_round_trips_through_the_spec_domain_json(string name)
    {
        var golden = GoldenCase.Load(name);
        var built = golden.Build();
        var file = Path.Combine(Path.GetTempPath(), $"kubestack-roundtrip-{name}-{Guid.NewGuid():N}.xml");
        await File.WriteAllTextAsync(file, built.Xml);
        string dumped;
        try
        {
            // One virsh process: the test driver's state lives in the connection.
            var (exitCode, output) = await Tool.RunAsync("virsh", "-q", "-c", "test:///default",
                $"define {file} ; start {built.Name} ; dumpxml --security-info {built.Name}");
            Assert.True(exitCode == 0, output);
            var start = output.IndexOf("<domain", StringComparison.Ordinal);
            var end = output.LastIndexOf("</domain>", StringComparison.Ordinal);
            Assert.True(start >= 0 && end > start, output);
            dumped = output[start..(end + "</domain>".Length)];
        }
        finally
        {
            File.Delete(file);
        }

        var json = LibvirtXmlJson.ToJson(dumped, LibvirtDocument.Domain);
        var wire = JsonNode.Parse(json.ToJsonString())!.AsObject();
        var back = LibvirtXmlJson.ToXml(wire, LibvirtDocument.Domain);

        Assert.Equal(Canonical(XElement.Parse(dumped)), Canonical(XElement.Parse(back)));
        Assert.Equal(built.Uuid.ToString("D"), (string?)json["uuid"]!["text"]);
        Assert.Equal(built.Disks.Count, Assert.IsType<JsonArray>(json["devices"]!["disk"]).Count);
        Assert.Equal(built.Nics.Count, Assert.IsType<JsonArray>(json["devices"]!["_interface"]).Count);
        Assert.IsType<JsonArray>(json["os"]!["boot"]);
    }

    private static string Canonical(XElement element)
    {
        var builder = new StringBuilder();
        Write(element, builder, 0);
        return builder.ToString();
    }

    private static void Write(XElement element, StringBuilder builder, int depth)
    {
        builder.Append(' ', depth * 2).Append(element.Name.ToString());
        foreach (var attribute in element.Attributes().Where(a => !a.IsNamespaceDeclaration).OrderBy(a => a.Name.ToString(), StringComparer.Ordinal))
        {
            builder.Append(' ').Append(attribute.Name).Append("='").Append(attribute.Value).Append('\'');
        }
        if (!element.HasElements && element.Value.Length > 0)
        {
            builder.Append(" text=[").Append(element.Value).Append(']');
        }
        builder.Append('\n');
        foreach (var child in element.Elements())
        {
            Write(child, builder, depth + 1);
        }
    }
}
