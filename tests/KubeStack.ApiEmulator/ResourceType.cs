using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>A printer column (CRD additionalPrinterColumns, or a built-in type's default columns).</summary>
public sealed record PrinterColumn(string Name, string Type, string JsonPath, string Description = "", int Priority = 0, string Format = "");

/// <summary>A resource the emulator serves: a built-in type or one version of a CRD.</summary>
public sealed class ResourceType
{
    public required string Group { get; init; }
    public required string Version { get; init; }
    public required string Plural { get; init; }
    public required string Kind { get; init; }
    public required string Singular { get; init; }
    public string ListKind => Kind + "List";
    public IReadOnlyList<string> ShortNames { get; init; } = [];
    public IReadOnlyList<string> Categories { get; init; } = [];
    public bool Namespaced { get; init; }
    public bool HasStatusSubresource { get; init; }
    /// <summary>Custom resources: generation bumps on any non-metadata/non-status change, PUT needs a resourceVersion, strategic merge is refused.</summary>
    public bool IsCustom { get; init; }
    /// <summary>The openAPIV3Schema of a CRD version (null for built-in types: no schema validation).</summary>
    public JsonObject? Schema { get; init; }
    public IReadOnlyList<PrinterColumn> PrinterColumns { get; init; } = [];
    /// <summary>The storage key shared by every version of a resource (group/plural).</summary>
    public string StorageKey => StorageKeyOverride ?? $"{Group}/{Plural}";
    /// <summary>Set when two APIs serve the same stored objects (events.k8s.io/v1 Event is stored as core/v1 Event).</summary>
    public string? StorageKeyOverride { get; init; }
    public string ApiVersion => string.IsNullOrEmpty(Group) ? Version : $"{Group}/{Version}";
    public string GroupVersionPath => string.IsNullOrEmpty(Group) ? $"/api/{Version}" : $"/apis/{Group}/{Version}";
    public IReadOnlyList<string> Verbs { get; init; } = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public override string ToString() => $"{Plural}.{Group}/{Version}";
}
