using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>
/// OpenAPI v3 discovery (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3): /openapi/v3 lists a
/// document per group version; each document has the paths with their operations (tagged with
/// x-kubernetes-group-version-kind, the PATCH operation declaring the fieldValidation parameter, which is how kubectl
/// decides to use server-side field validation) and the kinds' schemas (for CRDs, the openAPIV3Schema, which kubectl explain renders).
/// </summary>
internal static class OpenApi
{
    static string GvPath(ResourceType t) => string.IsNullOrEmpty(t.Group) ? $"api/{t.Version}" : $"apis/{t.Group}/{t.Version}";

    public static JsonObject Root(ResourceRegistry r)
    {
        var paths = new JsonObject();
        foreach (var g in r.All.GroupBy(GvPath))
        {
            var doc = GroupVersion(r, g.Key)!;
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(doc.ToJsonString())))[..32];
            paths[g.Key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{g.Key}?hash={hash}" };
        }
        return new JsonObject { ["paths"] = paths };
    }

    static string SchemaName(ResourceType t)
    {
        // io.k8s.api.core.v1.ConfigMap style for built-ins, reversed group for CRDs (io.doslab.v1.VirtualMachine)
        var g = string.IsNullOrEmpty(t.Group) ? "io.k8s.api.core" : string.Join('.', t.Group.Split('.').Reverse());
        return $"{g}.{t.Version}.{t.Kind}";
    }

    public static JsonObject? GroupVersion(ResourceRegistry r, string gvPath)
    {
        var types = r.All.Where(t => GvPath(t) == gvPath).ToList();
        if (types.Count == 0) return null;
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var t in types)
        {
            var gvk = new JsonObject { ["group"] = t.Group, ["version"] = t.Version, ["kind"] = t.Kind };
            var name = SchemaName(t);
            var schema = t.Schema?.DeepClone() as JsonObject ?? new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
            if (schema["properties"] is JsonObject props)
            {
                props["apiVersion"] ??= new JsonObject { ["type"] = "string", ["description"] = "APIVersion defines the versioned schema of this representation of an object." };
                props["kind"] ??= new JsonObject { ["type"] = "string", ["description"] = "Kind is a string value representing the REST resource this object represents." };
                props["metadata"] = new JsonObject { ["type"] = "object", ["description"] = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata" };
            }
            schema["x-kubernetes-group-version-kind"] = new JsonArray(gvk.DeepClone());
            schemas[name] = schema;
            schemas[name + "List"] = new JsonObject
            {
                ["type"] = "object",
                ["description"] = $"{t.Kind}List is a list of {t.Kind}",
                ["required"] = new JsonArray("items"),
                ["properties"] = new JsonObject
                {
                    ["apiVersion"] = new JsonObject { ["type"] = "string" },
                    ["kind"] = new JsonObject { ["type"] = "string" },
                    ["items"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = $"#/components/schemas/{name}" } },
                    ["metadata"] = new JsonObject { ["type"] = "object" },
                },
                ["x-kubernetes-group-version-kind"] = new JsonArray(new JsonObject { ["group"] = t.Group, ["version"] = t.Version, ["kind"] = t.ListKind }),
            };

            var prefix = "/" + gvPath + (t.Namespaced ? "/namespaces/{namespace}" : "") + "/" + t.Plural;
            var collection = new JsonObject
            {
                ["get"] = Op("list", t, gvk, name + "List", []),
                ["post"] = Op("post", t, gvk, name, ["fieldValidation", "fieldManager", "dryRun"], body: name),
                ["delete"] = Op("deletecollection", t, gvk, null, ["labelSelector", "fieldSelector"]),
            };
            paths[prefix] = collection;
            var item = new JsonObject
            {
                ["get"] = Op("get", t, gvk, name, []),
                ["put"] = Op("put", t, gvk, name, ["fieldValidation", "fieldManager", "dryRun"], body: name),
                ["patch"] = Op("patch", t, gvk, name, ["fieldValidation", "fieldManager", "dryRun", "force"], patch: true),
                ["delete"] = Op("delete", t, gvk, null, ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            };
            paths[prefix + "/{name}"] = item;
            if (t.HasStatusSubresource)
                paths[prefix + "/{name}/status"] = new JsonObject
                {
                    ["get"] = Op("get", t, gvk, name, []),
                    ["put"] = Op("put", t, gvk, name, ["fieldValidation", "fieldManager", "dryRun"], body: name),
                    ["patch"] = Op("patch", t, gvk, name, ["fieldValidation", "fieldManager", "dryRun", "force"], patch: true),
                };
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0-kubestack-emulator" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    static JsonObject Op(string action, ResourceType t, JsonObject gvk, string? responseSchema, string[] queryParams, string? body = null, bool patch = false)
    {
        var op = new JsonObject
        {
            ["operationId"] = $"{action}{t.Kind}",
            ["parameters"] = new JsonArray(queryParams.Select(p => (JsonNode?)new JsonObject
            {
                ["name"] = p,
                ["in"] = "query",
                ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true },
            }).ToArray()),
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject
                {
                    ["description"] = "OK",
                    ["content"] = new JsonObject
                    {
                        ["application/json"] = new JsonObject { ["schema"] = responseSchema is null ? new JsonObject { ["type"] = "object" } : new JsonObject { ["$ref"] = $"#/components/schemas/{responseSchema}" } },
                    },
                },
            },
            ["x-kubernetes-action"] = action,
            ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
        };
        if (body is not null)
            op["requestBody"] = new JsonObject { ["content"] = new JsonObject { ["*/*"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{body}" } } } };
        if (patch)
        {
            // no application/strategic-merge-patch+json: kubectl then computes a JSON merge patch for custom resources
            // and uses its compiled-in types for built-in ones, as against a real server's CRD documents
            var content = new JsonObject();
            foreach (var ct in new[] { "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml" })
                content[ct] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } };
            op["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true };
        }
        return op;
    }
}
