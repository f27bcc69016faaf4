using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>
/// Reads YAML into JSON the way a YAML 1.1 reader (the API server's sigs.k8s.io/yaml, go-yaml v2) types plain
/// scalars: booleans (yes/no/on/off too), null, ints (hex, octal, underscores, sexagesimal) and floats. Quoted
/// scalars stay strings. Used to prove the generated YAML means what the generator built.
/// </summary>
internal static partial class Yaml11
{
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    public static List<JsonNode?> ParseAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => Convert(d.RootNode)).ToList();
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => ConvertMap(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => throw new InvalidDataException($"Unexpected YAML node {node.NodeType}."),
    };

    private static JsonObject ConvertMap(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (obj.ContainsKey(name))
            {
                throw new InvalidDataException($"Duplicate key '{name}' at {key.Start}.");
            }

            obj.Add(name, Convert(value));
        }

        return obj;
    }

    private static JsonNode? ConvertScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" || NullWord().IsMatch(text))
        {
            return null;
        }

        if (TrueWord().IsMatch(text))
        {
            return JsonValue.Create(true);
        }

        if (FalseWord().IsMatch(text))
        {
            return JsonValue.Create(false);
        }

        if (IntLike().IsMatch(text) || FloatLike().IsMatch(text))
        {
            // Decimal integers keep their value; other numeric forms only need to be numbers, not strings.
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                return JsonNode.Parse(l.ToString(CultureInfo.InvariantCulture));
            }

            return double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? JsonValue.Create(d)
                : JsonValue.Create(0);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex("^(null|Null|NULL)$")]
    private static partial Regex NullWord();

    [GeneratedRegex("^(y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$")]
    private static partial Regex TrueWord();

    [GeneratedRegex("^(n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$")]
    private static partial Regex FalseWord();

    [GeneratedRegex("^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$")]
    private static partial Regex IntLike();

    [GeneratedRegex("^([-+]?([0-9][0-9_]*)?\\.[0-9.]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|[-+]?[0-9]+[eE][-+]?[0-9]+)$")]
    private static partial Regex FloatLike();
}
