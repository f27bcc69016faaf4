using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeStack.Contracts.Crds;

/// <summary>Renders a CRD as the YAML committed under crds/ (deterministic: same catalog, same bytes).</summary>
public static class CrdYaml
{
    public static string Render(V1CustomResourceDefinition crd)
    {
        ArgumentNullException.ThrowIfNull(crd);
        var json = JsonNode.Parse(KubernetesJson.Serialize(crd));
        return Generated.YamlHeader("make crds") + YamlText.Write(json);
    }
}
