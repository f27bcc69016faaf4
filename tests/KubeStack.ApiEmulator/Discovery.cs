using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>
/// Legacy (unaggregated) discovery documents: /api, /apis, /apis/G, /api/v1, /apis/G/V
/// (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api). Requests for the aggregated
/// APIGroupDiscoveryList are answered with plain application/json, which client-go treats as the legacy format and
/// then reads each group version, as it does against a server without aggregated discovery.
/// </summary>
internal static class Discovery
{
    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-kubestack-emulator",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.23",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject ApiVersions(int port) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = $"127.0.0.1:{port}" }),
    };

    static JsonObject GroupObject(string name, IEnumerable<string> versions)
    {
        var vs = versions.Distinct().ToList();
        var arr = new JsonArray(vs.Select(v => (JsonNode?)new JsonObject { ["groupVersion"] = $"{name}/{v}", ["version"] = v }).ToArray());
        return new JsonObject
        {
            ["name"] = name,
            ["versions"] = arr,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{name}/{vs[0]}", ["version"] = vs[0] },
        };
    }

    public static JsonObject GroupList(ResourceRegistry r) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(r.All.Where(t => t.Group != "").GroupBy(t => t.Group)
            .Select(g => (JsonNode?)GroupObject(g.Key, g.Select(t => t.Version))).ToArray()),
    };

    public static JsonObject? Group(ResourceRegistry r, string group)
    {
        var types = r.All.Where(t => t.Group == group).ToList();
        if (types.Count == 0) return null;
        var g = GroupObject(group, types.Select(t => t.Version));
        g["kind"] = "APIGroup";
        g["apiVersion"] = "v1";
        return g;
    }

    public static JsonObject ResourceList(ResourceRegistry r, string group, string version)
    {
        var resources = new JsonArray();
        foreach (var t in r.All.Where(t => t.Group == group && t.Version == version))
        {
            var res = new JsonObject
            {
                ["name"] = t.Plural,
                ["singularName"] = t.Singular,
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray(t.Verbs.Select(v => (JsonNode?)v).ToArray()),
            };
            if (t.ShortNames.Count > 0) res["shortNames"] = new JsonArray(t.ShortNames.Select(v => (JsonNode?)v).ToArray());
            if (t.Categories.Count > 0) res["categories"] = new JsonArray(t.Categories.Select(v => (JsonNode?)v).ToArray());
            resources.Add(res);
            if (t.HasStatusSubresource)
                resources.Add(new JsonObject
                {
                    ["name"] = $"{t.Plural}/status",
                    ["singularName"] = "",
                    ["namespaced"] = t.Namespaced,
                    ["kind"] = t.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = string.IsNullOrEmpty(group) ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }
}
