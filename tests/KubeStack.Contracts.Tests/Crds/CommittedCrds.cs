using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Crds;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>The committed crds/*.yaml read back as the API server would read them.</summary>
internal static class CommittedCrds
{
    private static readonly Lazy<Dictionary<string, JsonObject>> ByKind = new(Load);

    public static JsonObject Of(string kind) => ByKind.Value[kind];

    public static IEnumerable<(string Kind, JsonObject Crd)> All => ByKind.Value.Select(p => (p.Key, p.Value));

    public static JsonObject Version(JsonObject crd) => (JsonObject)crd["spec"]!["versions"]![0]!;

    public static JsonObject Schema(JsonObject crd) => (JsonObject)Version(crd)["schema"]!["openAPIV3Schema"]!;

    public static JsonObject Spec(JsonObject crd) => (JsonObject)Schema(crd)["properties"]!["spec"]!;

    public static JsonObject Lifecycle(JsonObject crd) => (JsonObject)Spec(crd)["properties"]!["lifecycle"]!;

    public static JsonObject Status(JsonObject crd) => (JsonObject)Schema(crd)["properties"]!["status"]!;

    private static Dictionary<string, JsonObject> Load()
    {
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var kind in CatalogLoader.Default.Kinds)
        {
            var path = RepoFiles.Path("crds", CrdBuilder.FileName(kind));
            Assert.True(File.Exists(path), $"crds/{CrdBuilder.FileName(kind)} is missing: run `make crds`.");
            var docs = Yaml11.ParseAll(File.ReadAllText(path));
            Assert.True(docs.Count == 1, $"crds/{CrdBuilder.FileName(kind)} must hold exactly one document.");
            result.Add(kind.Kind, (JsonObject)docs[0]!);
        }

        return result;
    }
}
