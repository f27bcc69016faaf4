using System.Text.Json.Nodes;
using KubeStack.Contracts.Crds;

namespace KubeStack.Contracts.Tests.Crds;

public class YamlTextTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("False")]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("OFF")]
    [InlineData("y")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("010")]
    [InlineData("0x1F")]
    [InlineData("1_000")]
    [InlineData("12:30")]
    [InlineData("1e3")]
    [InlineData(".5")]
    [InlineData("-1")]
    [InlineData(".inf")]
    [InlineData("2001-01-01")]
    [InlineData("10,737,418,240")]
    public void Strings_a_yaml_reader_could_retype_are_quoted_and_read_back_as_strings(string text)
    {
        Assert.True(YamlText.NeedsQuotes(text));
        var yaml = YamlText.Write(new JsonObject { ["v"] = text });
        var back = Yaml11.Parse(yaml)!["v"];
        Assert.Equal(System.Text.Json.JsonValueKind.String, back!.GetValueKind());
        Assert.Equal(text, back.GetValue<string>());
    }

    [Theory]
    [InlineData("localfs")]
    [InlineData("^[0-9]+$")]
    [InlineData("vnc,listen=0.0.0.0,password=abcdefg")]
    [InlineData("/var/lib/libvirt/images/test3.qcow2")]
    public void Ordinary_strings_stay_plain(string text)
    {
        Assert.False(YamlText.NeedsQuotes(text));
        Assert.Equal($"v: {text}\n", YamlText.Write(new JsonObject { ["v"] = text }));
    }

    [Fact]
    public void Writes_types_and_key_order_exactly_as_the_json_tree()
    {
        var tree = JsonNode.Parse("""{"z":1,"a":true,"m":{"s":"a: b # c","list":["x",2,false],"empty":{},"none":[]},"q":"it's \"quoted\"\nnext"}""");
        var yaml = YamlText.Write(tree);
        Assert.StartsWith("z: 1\na: true\nm:\n", yaml, StringComparison.Ordinal);
        Assert.Contains("empty: {}", yaml, StringComparison.Ordinal);
        Assert.Contains("none: []", yaml, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(tree, Yaml11.Parse(yaml)), yaml);
    }
}
