using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>
/// The emulator calls validating webhooks registered through ValidatingWebhookConfiguration, as kube-apiserver's
/// ValidatingAdmissionWebhook plugin does (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/),
/// against a real HTTPS AdmissionReview v1 server with its own CA.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    ApiEmulator _api = null!;
    IKubernetes _client = null!;
    WebApplication _webhook = null!;
    X509Certificate2 _cert = null!;
    string _webhookUrl = "";
    readonly List<JsonObject> _calls = [];

    public async Task InitializeAsync()
    {
        _api = await ApiEmulator.StartAsync();
        await TestCrds.InstallAsync(_api);
        _client = _api.CreateClient();
        _cert = SelfSignedCa();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(_cert)));
        _webhook = builder.Build();
        _webhook.MapPost("/validate", async (HttpContext ctx) =>
        {
            var review = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
            var req = review["request"]!.AsObject();
            lock (_calls) _calls.Add((JsonObject)req.DeepClone());
            var node = (string?)req["object"]?["spec"]?["nodeName"];
            var response = new JsonObject { ["uid"] = (string?)req["uid"], ["allowed"] = node != "forbidden" };
            if (node == "forbidden")
                response["status"] = new JsonObject { ["code"] = 422, ["reason"] = "Invalid", ["message"] = "spec.nodeName: node \"forbidden\" does not exist" };
            if (node == "warned")
                response["warnings"] = new JsonArray("spec.nodeName: node \"warned\" is cordoned");
            return Results.Json(new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response });
        });
        await _webhook.StartAsync();
        _webhookUrl = _webhook.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/validate";
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _webhook.StopAsync();
        await _webhook.DisposeAsync();
        await _api.DisposeAsync();
        _cert.Dispose();
    }

    static X509Certificate2 SelfSignedCa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=kubestack-webhook-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    async Task RegisterAsync(string failurePolicy = "Fail", string? url = null, JsonObject? objectSelector = null, JsonObject? namespaceSelector = null,
        string[]? operations = null, string[]? resources = null, X509Certificate2? trust = null)
    {
        var hook = new JsonObject
        {
            ["name"] = "vm.kubestack.io",
            ["admissionReviewVersions"] = new JsonArray("v1"),
            ["sideEffects"] = "None",
            ["failurePolicy"] = failurePolicy,
            ["timeoutSeconds"] = 5,
            ["clientConfig"] = new JsonObject
            {
                ["url"] = url ?? _webhookUrl,
                ["caBundle"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes((trust ?? _cert).ExportCertificatePem())),
            },
            ["rules"] = new JsonArray(new JsonObject
            {
                ["operations"] = new JsonArray((operations ?? ["CREATE", "UPDATE"]).Select(o => (JsonNode?)o).ToArray()),
                ["apiGroups"] = new JsonArray("doslab.io"),
                ["apiVersions"] = new JsonArray("v1"),
                ["resources"] = new JsonArray((resources ?? ["virtualmachines"]).Select(o => (JsonNode?)o).ToArray()),
                ["scope"] = "Namespaced",
            }),
        };
        if (objectSelector is not null) hook["objectSelector"] = objectSelector;
        if (namespaceSelector is not null) hook["namespaceSelector"] = namespaceSelector;
        var config = new JsonObject
        {
            ["apiVersion"] = "admissionregistration.k8s.io/v1",
            ["kind"] = "ValidatingWebhookConfiguration",
            ["metadata"] = new JsonObject { ["name"] = "kubestack" },
            ["webhooks"] = new JsonArray(hook),
        };
        using var http = new HttpClient { BaseAddress = new Uri(_api.BaseUrl) };
        using var resp = await http.PostAsync("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
            new StringContent(config.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, resp.StatusCode);
    }

    int Calls { get { lock (_calls) return _calls.Count; } }

    [Fact]
    public async Task A_denial_is_returned_with_the_webhooks_code_and_message()
    {
        await RegisterAsync();
        await _client.CreateAsync(TestCrds.NewVm("ok"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("bad", node: "forbidden")));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Equal("admission webhook \"vm.kubestack.io\" denied the request: spec.nodeName: node \"forbidden\" does not exist", (string?)JsonNode.Parse(e.Response.Content)!["message"]);
        Assert.Equal(2, Calls);
        JsonObject first;
        lock (_calls) first = _calls[0];
        Assert.Equal("CREATE", (string?)first["operation"]);
        Assert.Equal("virtualmachines", (string?)first["resource"]!["resource"]);
        Assert.Equal("default", (string?)first["namespace"]);
    }

    [SkippableFact]
    public async Task Kubectl_apply_shows_the_webhooks_denial_and_its_warnings()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await RegisterAsync();
        using var kubectl = new Kubectl(_api);
        var bad = await kubectl.RunAsync(["apply", "-f", "-"], "apiVersion: doslab.io/v1\nkind: VirtualMachine\nmetadata: {name: vm1}\nspec: {nodeName: forbidden}\n");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("admission webhook \"vm.kubestack.io\" denied the request: spec.nodeName: node \"forbidden\" does not exist", bad.Stderr);
        var warned = await kubectl.RunAsync(["apply", "-f", "-"], "apiVersion: doslab.io/v1\nkind: VirtualMachine\nmetadata: {name: vm2}\nspec: {nodeName: warned}\n");
        Assert.Equal(0, warned.ExitCode);
        Assert.Contains("Warning: spec.nodeName: node \"warned\" is cordoned", warned.Stderr);
    }

    [Fact]
    public async Task Rules_limit_the_operations_and_subresources_sent()
    {
        await RegisterAsync(operations: ["CREATE"]);
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.MergePatchAsync("a", new { spec = new { nodeName = "forbidden" } }); // UPDATE not in the rules
        await _client.MergePatchAsync("a", new { status = new { powerState = "x" } }, status: true); // status not in the rules
        Assert.Equal(1, Calls);
    }

    [Fact]
    public async Task Object_selector_and_namespace_selector_choose_the_objects_sent()
    {
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "team-a", Labels = new Dictionary<string, string> { ["team"] = "a" } } });
        await RegisterAsync(
            objectSelector: new JsonObject { ["matchExpressions"] = new JsonArray(new JsonObject { ["key"] = "host", ["operator"] = "Exists" }) },
            namespaceSelector: new JsonObject { ["matchLabels"] = new JsonObject { ["team"] = "a" } });
        await _client.CreateAsync(TestCrds.NewVm("no-label", node: null, ns: "team-a"));      // object selector: no host label
        await _client.CreateAsync(TestCrds.NewVm("other-ns", node: "forbidden"));             // namespace selector: default has no team=a
        Assert.Equal(0, Calls);
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("sent", node: "forbidden", ns: "team-a")));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Equal(1, Calls);
    }

    [Fact]
    public async Task An_unreachable_webhook_fails_the_request_under_Fail_and_is_skipped_under_Ignore()
    {
        await RegisterAsync(failurePolicy: "Fail", url: "https://127.0.0.1:1/validate");
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("a")));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Response.StatusCode);
        Assert.StartsWith("Internal error occurred: failed calling webhook \"vm.kubestack.io\": failed to call webhook:", (string?)JsonNode.Parse(e.Response.Content)!["message"]);

        await _client.AdmissionregistrationV1.DeleteValidatingWebhookConfigurationAsync("kubestack");
        await RegisterAsync(failurePolicy: "Ignore", url: "https://127.0.0.1:1/validate");
        await _client.CreateAsync(TestCrds.NewVm("a"));
    }

    [Fact]
    public async Task A_server_certificate_not_signed_by_the_caBundle_is_refused()
    {
        using var other = SelfSignedCa();
        await RegisterAsync(trust: other);
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("a")));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Response.StatusCode);
        Assert.Contains("failed calling webhook", e.Response.Content);
        Assert.Equal(0, Calls);
    }
}
