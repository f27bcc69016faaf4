using System.Text.Json.Nodes;
using KubeStack.NodeAgent.Lifecycle.Common;

namespace KubeStack.NodeAgent.Tests.Lifecycle;

public sealed class StorageParametersTests
{
    [Theory]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("false", false)]
    public void Flags_are_read_from_strings_in_any_case(string text, bool expected) =>
        Assert.Equal(expected, StorageParameters.Flag(new JsonObject { ["autostart"] = text }, "autostart", "createPool"));

    [Fact]
    public void Flags_are_read_from_json_booleans_and_absent_flags_are_null()
    {
        Assert.True(StorageParameters.Flag(new JsonObject { ["disable"] = true }, "disable", "autoStartPool"));
        Assert.Null(StorageParameters.Flag([], "disable", "autoStartPool"));
        var ex = Assert.Throws<RequestParameterException>(() => StorageParameters.Flag(new JsonObject { ["disable"] = "yes" }, "disable", "autoStartPool"));
        Assert.Contains("autoStartPool.disable must be true or false", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10,737,418,240", 10_737_418_240L)]
    [InlineData("1000000000", 1_000_000_000L)]
    public void Byte_counts_accept_thousands_separators(string text, long expected) =>
        Assert.Equal(expected, StorageParameters.Bytes(new JsonObject { ["capacity"] = text }, "capacity", "createDisk", 1_000_000_000, 999_999_999_999));

    [Theory]
    [InlineData("999999999", "must be from 1000000000 to 999999999999 bytes")]
    [InlineData("10G", "must be a number of bytes")]
    [InlineData("1,0000,000", "must be a number of bytes")]
    public void Byte_counts_out_of_range_or_malformed_are_parameter_errors_naming_the_field(string text, string expected)
    {
        var ex = Assert.Throws<RequestParameterException>(() =>
            StorageParameters.Bytes(new JsonObject { ["capacity"] = text }, "capacity", "createDisk", 1_000_000_000, 999_999_999_999));
        Assert.Equal("capacity", ex.Parameter);
        Assert.Contains($"createDisk.capacity {expected}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_parameter_is_named()
    {
        var ex = Assert.Throws<RequestParameterException>(() => StorageParameters.Required([], "pool", "createDisk"));
        Assert.Equal("createDisk.pool is required and missing.", ex.Message);
    }
}
