using KubeStack.Contracts.Validation;
using static KubeStack.Contracts.Tests.Validation.CatalogCases;

namespace KubeStack.Contracts.Tests.Validation;

/// <summary>Names that reach a host tool's command line as positional arguments must not look like options.</summary>
public sealed class OptionLikeNameTests
{
    [Theory]
    [InlineData("createBridge")]
    [InlineData("deleteBridge")]
    [InlineData("setBridgeVlan")]
    [InlineData("delBridgeVlan")]
    public void A_bridge_name_starting_with_a_hyphen_is_refused_naming_the_field_and_the_pattern(string key)
    {
        var op = CatalogCases.Catalog.Operations.Single(o => o.Key == key);
        foreach (var name in new[] { "--help", "-br0" })
        {
            var parameters = BaselineParameters(op);
            parameters["name"] = name;
            var errors = RequestValidator.Validate(op.Kind, ResourceName, Spec(key, parameters));
            var error = Assert.Single(errors, e => e.Field.EndsWith(".name", StringComparison.Ordinal));
            Assert.Equal("pattern", error.Rule);
        }
    }
}
