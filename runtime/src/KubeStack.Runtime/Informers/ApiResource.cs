namespace KubeStack.Runtime.Informers;

/// <summary>Where a resource type lives on the API server.</summary>
/// <param name="Group">API group; empty for the core group (<c>/api/v1</c>).</param>
/// <param name="Version">API version (v1).</param>
/// <param name="Plural">The plural resource name in URLs (virtualmachines).</param>
/// <param name="Kind">The kind (VirtualMachine).</param>
public sealed record ApiResource(string Group, string Version, string Plural, string Kind)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The collection path, across all namespaces when <paramref name="namespace"/> is null.</summary>
    public string CollectionPath(string? @namespace)
    {
        var root = Group.Length == 0 ? $"api/{Version}" : $"apis/{Group}/{Version}";
        return @namespace is null
            ? $"{root}/{Plural}"
            : $"{root}/namespaces/{Uri.EscapeDataString(@namespace)}/{Plural}";
    }

    public string ObjectPath(string @namespace, string name) =>
        $"{CollectionPath(@namespace)}/{Uri.EscapeDataString(name)}";

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}
