using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>The resources served: the built-in ones and every served version of each registered CRD.</summary>
public sealed class ResourceRegistry
{
    readonly Lock _gate = new();
    readonly List<ResourceType> _builtIn;
    readonly Dictionary<string, List<ResourceType>> _crds = new(StringComparer.Ordinal); // CRD name -> served versions

    public ResourceRegistry()
    {
        _builtIn = BuiltIn().ToList();
    }

    static readonly PrinterColumn Age = new("Age", "date", ".metadata.creationTimestamp");

    static IEnumerable<ResourceType> BuiltIn()
    {
        yield return new ResourceType
        {
            Group = "",
            Version = "v1",
            Plural = "namespaces",
            Kind = "Namespace",
            Singular = "namespace",
            ShortNames = ["ns"],
            Namespaced = false,
            HasStatusSubresource = true,
            PrinterColumns = [new("Status", "string", ".status.phase"), Age]
        };
        yield return new ResourceType
        {
            Group = "",
            Version = "v1",
            Plural = "nodes",
            Kind = "Node",
            Singular = "node",
            ShortNames = ["no"],
            Namespaced = false,
            HasStatusSubresource = true,
            PrinterColumns = [new("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status"), Age, new("Version", "string", ".status.nodeInfo.kubeletVersion")]
        };
        yield return new ResourceType
        {
            Group = "",
            Version = "v1",
            Plural = "events",
            Kind = "Event",
            Singular = "event",
            ShortNames = ["ev"],
            Namespaced = true,
            PrinterColumns = [new("Type", "string", ".type"), new("Reason", "string", ".reason"), new("Object", "string", ".involvedObject.name"), new("Message", "string", ".message"), Age]
        };
        yield return new ResourceType
        {
            Group = "",
            Version = "v1",
            Plural = "secrets",
            Kind = "Secret",
            Singular = "secret",
            Namespaced = true,
            PrinterColumns = [new("Type", "string", ".type"), Age]
        };
        yield return new ResourceType
        {
            Group = "",
            Version = "v1",
            Plural = "configmaps",
            Kind = "ConfigMap",
            Singular = "configmap",
            ShortNames = ["cm"],
            Namespaced = true,
            PrinterColumns = [Age]
        };
        yield return new ResourceType
        {
            Group = "events.k8s.io",
            Version = "v1",
            Plural = "events",
            Kind = "Event",
            Singular = "event",
            ShortNames = ["ev"],
            Namespaced = true,
            PrinterColumns = [new("Type", "string", ".type"), new("Reason", "string", ".reason"), new("Object", "string", ".regarding.name"), new("Note", "string", ".note"), Age],
            StorageKeyOverride = "/events"
        };
        yield return new ResourceType
        {
            Group = "coordination.k8s.io",
            Version = "v1",
            Plural = "leases",
            Kind = "Lease",
            Singular = "lease",
            Namespaced = true,
            PrinterColumns = [new("Holder", "string", ".spec.holderIdentity"), Age]
        };
        yield return new ResourceType
        {
            Group = "apiextensions.k8s.io",
            Version = "v1",
            Plural = "customresourcedefinitions",
            Kind = "CustomResourceDefinition",
            Singular = "customresourcedefinition",
            ShortNames = ["crd", "crds"],
            Namespaced = false,
            HasStatusSubresource = true,
            PrinterColumns = [new("Created At", "string", ".metadata.creationTimestamp")]
        };
        yield return new ResourceType
        {
            Group = "admissionregistration.k8s.io",
            Version = "v1",
            Plural = "validatingwebhookconfigurations",
            Kind = "ValidatingWebhookConfiguration",
            Singular = "validatingwebhookconfiguration",
            Namespaced = false,
            PrinterColumns = [new("Webhooks", "integer", ".webhooks[*].name"), Age]
        };
        yield return new ResourceType
        {
            Group = "admissionregistration.k8s.io",
            Version = "v1",
            Plural = "mutatingwebhookconfigurations",
            Kind = "MutatingWebhookConfiguration",
            Singular = "mutatingwebhookconfiguration",
            Namespaced = false,
            PrinterColumns = [Age]
        };
    }

    public IReadOnlyList<ResourceType> All
    {
        get { lock (_gate) return [.. _builtIn, .. _crds.Values.SelectMany(v => v)]; }
    }

    public ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    public bool HasGroupVersion(string group, string version) => All.Any(t => t.Group == group && t.Version == version);

    /// <summary>Registers (or re-registers) the served versions of a CRD from its spec.</summary>
    public IReadOnlyList<ResourceType> RegisterCrd(JsonObject crd)
    {
        var spec = crd["spec"] as JsonObject ?? throw ApiError.BadRequest("CustomResourceDefinition without spec");
        var group = Meta.Str(spec["group"]) ?? "";
        var names = spec["names"] as JsonObject ?? new JsonObject();
        var plural = Meta.Str(names["plural"]) ?? "";
        var kind = Meta.Str(names["kind"]) ?? "";
        var singular = Meta.Str(names["singular"]) ?? kind.ToLowerInvariant();
        var shortNames = (names["shortNames"] as JsonArray)?.Select(Meta.Str).OfType<string>().ToList() ?? [];
        var categories = (names["categories"] as JsonArray)?.Select(Meta.Str).OfType<string>().ToList() ?? [];
        var namespaced = Meta.Str(spec["scope"]) != "Cluster";
        var list = new List<ResourceType>();
        foreach (var v in (spec["versions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (v["served"] is JsonValue sv && sv.GetValueKind() == System.Text.Json.JsonValueKind.False) continue;
            var columns = (v["additionalPrinterColumns"] as JsonArray ?? [])
                .OfType<JsonObject>()
                .Select(c => new PrinterColumn(Meta.Str(c["name"]) ?? "", Meta.Str(c["type"]) ?? "string", Meta.Str(c["jsonPath"]) ?? "",
                    Meta.Str(c["description"]) ?? "", c["priority"] is JsonValue p ? (int)Meta.AsLong(p) : 0, Meta.Str(c["format"]) ?? ""))
                .ToList();
            if (columns.Count == 0) columns.Add(Age);
            list.Add(new ResourceType
            {
                Group = group,
                Version = Meta.Str(v["name"]) ?? "v1",
                Plural = plural,
                Kind = kind,
                Singular = singular,
                ShortNames = shortNames,
                Categories = categories,
                Namespaced = namespaced,
                IsCustom = true,
                HasStatusSubresource = v["subresources"]?["status"] is JsonObject,
                Schema = v["schema"]?["openAPIV3Schema"]?.DeepClone() as JsonObject,
                PrinterColumns = columns,
            });
        }
        lock (_gate) _crds[$"{plural}.{group}"] = list;
        return list;
    }

    public void UnregisterCrd(string name)
    {
        lock (_gate) _crds.Remove(name);
    }
}
