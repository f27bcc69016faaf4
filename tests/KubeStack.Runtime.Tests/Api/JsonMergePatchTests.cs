using System.Text.Json.Nodes;
using KubeStack.Runtime.Api;

namespace KubeStack.Runtime.Tests.Api;

public sealed class JsonMergePatchTests
{
    [Fact]
    public void The_diff_sets_changed_members_removes_missing_ones_and_leaves_equal_ones_out()
    {
        var before = JsonNode.Parse("""{"a":"1","b":{"x":"1","y":"2"},"c":["1"],"d":"keep"}""");
        var after = JsonNode.Parse("""{"a":"2","b":{"x":"1"},"c":["1","2"],"d":"keep","e":{"new":"v"}}""");

        var diff = JsonMergePatch.CreateDiff(before, after);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"a":"2","b":{"y":null},"c":["1","2"],"e":{"new":"v"}}"""), diff), diff!.ToJsonString());
    }

    [Fact]
    public void Applying_the_diff_to_the_original_gives_the_modified_document()
    {
        var before = JsonNode.Parse("""{"spec":{"lifecycle":{"createDisk":{"pool":"p"}},"volume":{"name":"d","stale":"x"}}}""");
        var after = JsonNode.Parse("""{"spec":{"volume":{"name":"d","capacity":"10G"},"status":{"status":"Success"}}}""");

        var applied = JsonMergePatch.Apply(before, JsonMergePatch.CreateDiff(before, after));

        Assert.True(JsonNode.DeepEquals(after, applied));
    }

    [Fact]
    public void Equal_documents_give_no_patch()
    {
        Assert.Null(JsonMergePatch.CreateDiff(JsonNode.Parse("""{"a":{"b":"c"}}"""), JsonNode.Parse("""{"a":{"b":"c"}}""")));
    }
}
