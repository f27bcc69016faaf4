using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace KubeStack.Contracts.Catalog;

/// <summary>Loads the embedded catalog.yaml once.</summary>
public static class CatalogLoader
{
    private static readonly Lazy<LifecycleCatalog> Embedded = new(LoadEmbedded);

    public static LifecycleCatalog Default => Embedded.Value;

    public static LifecycleCatalog Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .WithEnumNamingConvention(CamelCaseNamingConvention.Instance)
            .Build();
        var catalog = deserializer.Deserialize<LifecycleCatalog>(yaml);
        return catalog ?? throw new InvalidDataException("The lifecycle catalog is empty.");
    }

    private static LifecycleCatalog LoadEmbedded()
    {
        using var stream = typeof(CatalogLoader).Assembly.GetManifestResourceStream("KubeStack.Contracts.catalog.yaml")
            ?? throw new InvalidDataException("catalog.yaml is not embedded in KubeStack.Contracts.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}
