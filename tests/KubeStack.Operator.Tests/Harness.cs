using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeStack.ApiEmulator;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.Operator.Controllers;
using KubeStack.Operator.Hosting;
using KubeStack.Operator.Routing;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Operator.Tests;

internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No KubeStack.Operator.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Requests built from the catalog (as the contract tests do): valid baselines and broken variants.</summary>
internal static class CatalogRequests
{
    public static LifecycleCatalog Catalog => CatalogLoader.Default;

    private static readonly Dictionary<(string Key, string Parameter), JsonNode> Consistent = new()
    {
        [("createPool", "url")] = JsonValue.Create("/var/lib/libvirt/pools/pooltest"),
        [("plugNIC", "type")] = JsonValue.Create("l3bridge"),
        [("cleanVMBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
        [("cleanVMRemoteBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
    };

    public static string ValidText(ParameterSpec p) => p.Rule is { ExampleInvalid: true, ValidExample: { } v } ? v : p.Example;

    public static JsonObject Baseline(OperationSpec op)
    {
        var body = new JsonObject();
        foreach (var p in op.Parameters.Where(p => p.Required))
        {
            body[p.Name] = p.Type == ParameterType.Boolean
                ? JsonValue.Create(p.Rule?.Format == FormatRegistry.MustBeTrue)
                : JsonValue.Create(ValidText(p));
        }

        foreach (var ((key, name), value) in Consistent.Where(c => c.Key.Key == op.Key))
        {
            body[name] = value.DeepClone();
        }

        return body;
    }

    /// <summary>A request of <paramref name="op"/> that breaks one rule: a bad value for a parameter with a rule, else a missing required parameter, else a body that is not an object.</summary>
    public static (JsonNode Body, string What) Violating(OperationSpec op, string name)
    {
        foreach (var p in op.Parameters.Where(p => p.Rule is not null || p.Type == ParameterType.Boolean))
        {
            foreach (var bad in BadValues(p))
            {
                var body = Baseline(op);
                body[p.Name] = bad;
                if (RequestValidator.FirstErrorMessage(op.Kind, name, Spec(op.Key, body.DeepClone())) is not null)
                {
                    return (body, $"bad {p.Name}");
                }
            }
        }

        if (op.Parameters.FirstOrDefault(p => p.Required) is { } required)
        {
            var body = Baseline(op);
            body.Remove(required.Name);
            return (body, $"missing {required.Name}");
        }

        return (JsonValue.Create("not-an-object"), "parameters not an object");
    }

    private static IEnumerable<JsonNode> BadValues(ParameterSpec p)
    {
        if (p.Type == ParameterType.Boolean)
        {
            yield return JsonValue.Create(12);
            yield break;
        }

        if (p.Rule?.Range is [_, var max])
        {
            yield return JsonValue.Create((max + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        yield return JsonValue.Create("not a valid value \u0001 ../..");
        yield return JsonValue.Create("");
        yield return JsonValue.Create(12);
    }

    public static JsonObject Spec(string key, JsonNode? parameters, string? nodeName = null)
    {
        var spec = new JsonObject { ["lifecycle"] = new JsonObject { [key] = parameters } };
        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }

        return spec;
    }
}

/// <summary>An API emulator with the repository's CRDs, plus helpers for doslab.io objects and agent Leases.</summary>
public sealed class Cluster : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private Cluster(ApiEmulator.ApiEmulator api)
    {
        Api = api;
        Client = api.CreateClient();
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }

    public static async Task<Cluster> StartAsync()
    {
        var api = await ApiEmulator.ApiEmulator.StartAsync(new EmulatorOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        var count = await api.RegisterCrdsFromFolderAsync(Path.Combine(RepoPaths.Root, "crds"));
        Assert.Equal(8, count);
        return new Cluster(api);
    }

    public static string Plural(string kind) => CatalogLoader.Default.Kind(kind).Plural;

    public async Task<KubeStackResource> CreateAsync(string kind, string name, JsonObject spec, IDictionary<string, string>? labels = null, string ns = "default")
    {
        var obj = new JsonObject
        {
            ["apiVersion"] = KubeStackResource.GroupVersion,
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = spec,
        };
        if (labels is not null)
        {
            obj["metadata"]!["labels"] = new JsonObject(labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value)));
        }

        var created = await Client.CustomObjects.CreateNamespacedCustomObjectAsync<KubeStackResource>(
            obj, KubeStackResource.Group, KubeStackResource.Version, ns, Plural(kind));
        created.Kind = kind;
        return created;
    }

    /// <summary>An object whose host side exists, as the agent leaves it (status.nodeName, host label, result view).</summary>
    public async Task<KubeStackResource> CreateExistingAsync(string kind, string name, string node, string ns = "default")
    {
        var view = CatalogLoader.Default.Kind(kind).ResultKey;
        await CreateAsync(kind, name, new JsonObject { [view] = new JsonObject { ["name"] = name } }, new Dictionary<string, string> { [Labels.Host] = node }, ns);
        return await PutStatusAsync(kind, name, new KubeStackStatus { NodeName = node }, ns);
    }

    public async Task<KubeStackResource> PutStatusAsync(string kind, string name, KubeStackStatus status, string ns = "default")
    {
        var current = (await GetAsync(kind, name, ns))!;
        current.Status = status;
        var written = await Client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<KubeStackResource>(
            current, KubeStackResource.Group, KubeStackResource.Version, ns, Plural(kind), name);
        written.Kind = kind;
        return written;
    }

    public async Task<KubeStackResource?> GetAsync(string kind, string name, string ns = "default")
    {
        try
        {
            var obj = await Client.CustomObjects.GetNamespacedCustomObjectAsync<KubeStackResource>(
                KubeStackResource.Group, KubeStackResource.Version, ns, Plural(kind), name);
            obj.Kind = kind;
            return obj;
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<KubeStackResource> WaitForAsync(string kind, string name, Func<KubeStackResource, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        KubeStackResource? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetAsync(kind, name);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"{kind} {name}: {what} did not happen in time; last seen: {(last is null ? "absent" : KubernetesJson.Serialize(last))}");
    }

    /// <summary>Writes (creates or replaces) the agent Lease of <paramref name="node"/>, renewed <paramref name="age"/> ago.</summary>
    public async Task HeartbeatAsync(string node, long freeMemory, long freeCpuMillis, TimeSpan? age = null)
    {
        var name = AgentLeases.LeaseName(node);
        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = AgentLeases.DefaultNamespace,
                Labels = new Dictionary<string, string> { [AgentLeases.ComponentLabel] = AgentLeases.ComponentValue },
                Annotations = new Dictionary<string, string>
                {
                    [AgentLeases.FreeMemoryAnnotation] = freeMemory.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [AgentLeases.FreeCpuAnnotation] = freeCpuMillis.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            },
            Spec = new V1LeaseSpec { HolderIdentity = node, LeaseDurationSeconds = 40, RenewTime = DateTime.UtcNow - (age ?? TimeSpan.Zero) },
        };
        try
        {
            var existing = await Client.CoordinationV1.ReadNamespacedLeaseAsync(name, AgentLeases.DefaultNamespace);
            lease.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            await Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, name, AgentLeases.DefaultNamespace);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await Client.CoordinationV1.CreateNamespacedLeaseAsync(lease, AgentLeases.DefaultNamespace);
        }
    }

    public async Task<IReadOnlyList<Corev1Event>> EventsAsync(string name)
    {
        var list = await Client.CoreV1.ListNamespacedEventAsync("default");
        return list.Items.Where(e => e.InvolvedObject?.Name == name).ToList();
    }

    /// <summary>Registers <paramref name="url"/> as the validating webhook of the 8 kinds (CREATE, UPDATE), trusting <paramref name="caPem"/>.</summary>
    public async Task RegisterWebhookAsync(string url, string caPem, string failurePolicy = "Fail")
    {
        var config = new JsonObject
        {
            ["apiVersion"] = "admissionregistration.k8s.io/v1",
            ["kind"] = "ValidatingWebhookConfiguration",
            ["metadata"] = new JsonObject { ["name"] = "kubestack" },
            ["webhooks"] = new JsonArray(new JsonObject
            {
                ["name"] = "requests.doslab.io",
                ["admissionReviewVersions"] = new JsonArray("v1"),
                ["sideEffects"] = "None",
                ["failurePolicy"] = failurePolicy,
                ["timeoutSeconds"] = 10,
                ["clientConfig"] = new JsonObject
                {
                    ["url"] = url,
                    ["caBundle"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(caPem)),
                },
                ["rules"] = new JsonArray(new JsonObject
                {
                    ["operations"] = new JsonArray("CREATE", "UPDATE"),
                    ["apiGroups"] = new JsonArray("doslab.io"),
                    ["apiVersions"] = new JsonArray("v1"),
                    ["resources"] = new JsonArray(CatalogLoader.Default.Kinds.Select(k => (JsonNode?)k.Plural).ToArray()),
                    ["scope"] = "Namespaced",
                }),
            }),
        };
        using var http = new HttpClient { BaseAddress = new Uri(Api.BaseUrl) };
        using var response = await http.PostAsJsonAsync("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", config);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
    }
}

/// <summary>The operator's webhook in development mode (self-signed) on a free loopback port, and an HTTPS client trusting it.</summary>
public sealed class WebhookHost : IAsyncDisposable
{
    private WebhookHost(OperatorRuntime runtime, HttpClient http)
    {
        Runtime = runtime;
        Http = http;
    }

    public OperatorRuntime Runtime { get; }
    public HttpClient Http { get; }
    public string Url => new Uri(Runtime.Webhook!.Address, "/validate").ToString();
    public string CaPem => Runtime.CaBundlePem!;

    public static async Task<WebhookHost> StartAsync(Cluster cluster)
    {
        var runtime = new OperatorRuntime(cluster.Client, new OperatorOptions
        {
            WebhookEnabled = true,
            WebhookDevCertificate = true,
            WebhookAddress = IPAddress.Loopback,
            WebhookPort = 0,
            ControllerEnabled = false,
        }, NullLoggerFactory.Instance);
        await runtime.StartWebhookAsync(CancellationToken.None);
        var ca = X509Certificate2.CreateFromPem(runtime.CaBundlePem!);
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(cert);
            },
        };
        return new WebhookHost(runtime, new HttpClient(handler));
    }

    /// <summary>One AdmissionReview round trip over HTTPS; returns the response object.</summary>
    public async Task<JsonObject> ReviewAsync(string operation, string kind, string name, JsonObject spec, JsonObject? old = null,
        IDictionary<string, string>? labels = null, JsonObject? status = null)
    {
        var obj = new JsonObject
        {
            ["apiVersion"] = KubeStackResource.GroupVersion,
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["generation"] = 2 },
            ["spec"] = spec,
        };
        if (labels is not null)
        {
            obj["metadata"]!["labels"] = new JsonObject(labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value)));
        }

        if (status is not null)
        {
            obj["status"] = status;
        }

        var uid = Guid.NewGuid().ToString();
        var review = new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = uid,
                ["kind"] = new JsonObject { ["group"] = "doslab.io", ["version"] = "v1", ["kind"] = kind },
                ["resource"] = new JsonObject { ["group"] = "doslab.io", ["version"] = "v1", ["resource"] = Cluster.Plural(kind) },
                ["name"] = name,
                ["namespace"] = "default",
                ["operation"] = operation,
                ["object"] = obj,
                ["oldObject"] = old,
            },
        };
        using var response = await Http.PostAsJsonAsync(Url, review);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("AdmissionReview", (string?)answer["kind"]);
        var result = answer["response"]!.AsObject();
        Assert.Equal(uid, (string?)result["uid"]);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Runtime.DisposeAsync();
    }
}
