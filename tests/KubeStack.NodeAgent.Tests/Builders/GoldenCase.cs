using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using KubeStack.NodeAgent.Builders;
using YamlDotNet.RepresentationModel;

namespace KubeStack.NodeAgent.Tests.Builders;

/// <summary>One golden case: <c>testassets/&lt;case&gt;/input.yaml</c> → <c>expected.xml</c>.</summary>
internal sealed record GoldenCase(
    string Name,
    string DomainName,
    VmCreateKind Kind,
    Guid? Uid,
    NodeDomainSettings Node,
    JsonObject Parameters)
{
    /// <summary>The source folder of the golden files (so UPDATE_GOLDEN=1 rewrites the committed files).</summary>
    public static string AssetsDirectory([CallerFilePath] string sourceFile = "") =>
        Path.Combine(Path.GetDirectoryName(sourceFile)!, "testassets");

    public static IEnumerable<string> All() =>
        Directory.GetDirectories(AssetsDirectory()).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    public string ExpectedPath => Path.Combine(AssetsDirectory(), Name, "expected.xml");

    public static GoldenCase Load(string name)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(AssetsDirectory(), name, "input.yaml")))
        {
            yaml.Load(reader);
        }
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Scalar(YamlMappingNode map, string key) => ((YamlScalarNode)map.Children[new YamlScalarNode(key)]).Value!;
        string? OptionalScalar(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? ((YamlScalarNode)node).Value : null;

        var node = (YamlMappingNode)root.Children[new YamlScalarNode("node")];
        var settings = new NodeDomainSettings(
            Scalar(node, "domainType"), Scalar(node, "emulator"), Scalar(node, "machine"),
            OptionalScalar(node, "arch") ?? "x86_64", OptionalScalar(node, "serialLogDirectory"));

        var parameters = new JsonObject();
        foreach (var (key, value) in (YamlMappingNode)root.Children[new YamlScalarNode("parameters")])
        {
            parameters[((YamlScalarNode)key).Value!] = ((YamlScalarNode)value).Value;
        }
        var operation = Scalar(root, "operation");
        var kind = operation switch
        {
            "createAndStartVMFromISO" => VmCreateKind.FromIso,
            "createAndStartVMFromImage" => VmCreateKind.FromImage,
            _ => throw new InvalidOperationException($"Case {name}: unknown operation {operation}."),
        };
        var uid = OptionalScalar(root, "uid");
        return new GoldenCase(name, Scalar(root, "name"), kind, uid is null ? null : Guid.Parse(uid), settings, parameters);
    }

    public DomainBuildResult Build() =>
        DomainXmlBuilder.Build(DomainName, VmCreateParameters.Parse(Parameters, Kind), Node, Uid);
}
