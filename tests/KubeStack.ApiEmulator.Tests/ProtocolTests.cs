using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>Wire-level behaviour: discovery documents, tables, paging, patch types, dry-run, core kinds, admission hooks.</summary>
public sealed class ProtocolTests : IAsyncLifetime
{
    ApiEmulator _api = null!;
    IKubernetes _client = null!;
    HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiEmulator.StartAsync();
        await TestCrds.InstallAsync(_api);
        _client = _api.CreateClient();
        _http = new HttpClient { BaseAddress = new Uri(_api.BaseUrl) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _client.Dispose();
        await _api.DisposeAsync();
    }

    async Task<JsonNode> GetJson(string path, string? accept = null)
    {
        using var req = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null) req.Headers.TryAddWithoutValidation("Accept", accept);
        using var resp = await _http.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        return JsonNode.Parse(await resp.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task Discovery_lists_the_crd_group_and_its_resources_with_status_subresource()
    {
        var groups = await GetJson("/apis");
        Assert.Contains(((JsonArray)groups["groups"]!).Select(g => (string?)g!["name"]), n => n == "doslab.io");
        var list = await GetJson("/apis/doslab.io/v1");
        var resources = ((JsonArray)list["resources"]!).Select(r => r!).ToList();
        var vm = resources.Single(r => (string?)r["name"] == "virtualmachines");
        Assert.Equal("VirtualMachine", (string?)vm["kind"]);
        Assert.True((bool?)vm["namespaced"]);
        Assert.Equal(["vm"], ((JsonArray)vm["shortNames"]!).Select(s => (string?)s));
        Assert.Contains("watch", ((JsonArray)vm["verbs"]!).Select(v => (string?)v));
        Assert.Contains(resources, r => (string?)r["name"] == "virtualmachines/status");
        var core = await GetJson("/api/v1");
        Assert.Contains(((JsonArray)core["resources"]!).Select(r => (string?)r!["name"]), n => n == "namespaces");
    }

    [Fact]
    public async Task Table_output_evaluates_printer_columns()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.MergePatchAsync("a", new { status = new { powerState = "Running", conditions = new[] { new { type = "Other", status = "False" }, new { type = "Ready", status = "True" } } } }, status: true);
        var table = await GetJson("/apis/doslab.io/v1/namespaces/default/virtualmachines", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
        Assert.Equal("Table", (string?)table["kind"]);
        Assert.Equal(["Name", "Node", "Ready", "Power", "Age"], ((JsonArray)table["columnDefinitions"]!).Select(c => (string?)c!["name"]));
        var cells = (JsonArray)table["rows"]![0]!["cells"]!;
        Assert.Equal("a", (string?)cells[0]);
        Assert.Equal("node22", (string?)cells[1]);
        Assert.Equal("True", (string?)cells[2]);
        Assert.Equal("Running", (string?)cells[3]);
        Assert.Matches("^[0-9]+s$", (string?)cells[4]);
        Assert.Equal("PartialObjectMetadata", (string?)table["rows"]![0]!["object"]!["kind"]);
    }

    [Fact]
    public async Task List_limit_and_continue_page_through_everything()
    {
        foreach (var n in new[] { "a", "b", "c", "d", "e" }) await _client.CreateAsync(TestCrds.NewVm(n));
        var seen = new List<string>();
        string? token = null;
        int pages = 0;
        do
        {
            var page = await _client.CustomObjects.ListNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, limit: 2, continueParameter: token);
            var node = JsonNode.Parse(KubernetesJson.Serialize(page))!;
            seen.AddRange(((JsonArray)node["items"]!).Select(i => (string)i!["metadata"]!["name"]!));
            token = (string?)node["metadata"]!["continue"];
            pages++;
        }
        while (!string.IsNullOrEmpty(token));
        Assert.Equal(["a", "b", "c", "d", "e"], seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Strategic_merge_patch_on_a_custom_resource_is_415()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"spec":{"nodeName":"x"}}""", V1Patch.PatchType.StrategicMergePatch), TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "a"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, e.Response.StatusCode);
    }

    [Fact]
    public async Task Json_patch_and_server_side_apply_through_the_client()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""[{"op":"replace","path":"/spec/nodeName","value":"n7"}]""", V1Patch.PatchType.JsonPatch), TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "a");
        Assert.Equal("n7", (string?)(await _client.GetVmAsync("a")).Spec!["nodeName"]);

        var applied = """{"apiVersion":"doslab.io/v1","kind":"VirtualMachine","metadata":{"name":"b","namespace":"default"},"spec":{"nodeName":"n8"}}""";
        await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(applied, V1Patch.PatchType.ApplyPatch), TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "b", fieldManager: "test", force: true);
        Assert.Equal("n8", (string?)(await _client.GetVmAsync("b")).Spec!["nodeName"]);
    }

    [Fact]
    public async Task DryRun_validates_without_storing()
    {
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(TestCrds.NewVm("a"), TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, dryRun: "All");
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.GetVmAsync("a"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task Lease_update_with_a_stale_resourceVersion_is_409()
    {
        var lease = await _client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "node22", NamespaceProperty = "kube-node-lease" },
            Spec = new V1LeaseSpec { HolderIdentity = "node22", LeaseDurationSeconds = 40, RenewTime = DateTime.UtcNow },
        }, "kube-node-lease");
        var renewed = await _client.CoordinationV1.ReadNamespacedLeaseAsync("node22", "kube-node-lease");
        renewed.Spec.RenewTime = DateTime.UtcNow.AddSeconds(1);
        await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(renewed, "node22", "kube-node-lease");
        lease.Spec.HolderIdentity = "thief";
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "node22", "kube-node-lease"));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
    }

    [Fact]
    public async Task Core_events_and_events_k8s_io_are_the_same_objects()
    {
        await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "e1", NamespaceProperty = "default" },
            InvolvedObject = new V1ObjectReference { Kind = "VirtualMachine", Name = "vm1", NamespaceProperty = "default" },
            Reason = "Started",
            Message = "reboot started",
            Type = "Normal",
        }, "default");
        var v1 = await _client.EventsV1.ReadNamespacedEventAsync("e1", "default");
        Assert.Equal("vm1", v1.Regarding.Name);
        Assert.Equal("reboot started", v1.Note);
        var byField = await _client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: "involvedObject.name=vm1,involvedObject.kind=VirtualMachine");
        Assert.Single(byField.Items);
    }

    [Fact]
    public async Task Secret_stringData_is_stored_as_base64_data()
    {
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" }, StringData = new Dictionary<string, string> { ["k"] = "v" } }, "default");
        var s = await _client.CoreV1.ReadNamespacedSecretAsync("s", "default");
        Assert.Equal("v", Encoding.UTF8.GetString(s.Data["k"]));
        Assert.Null(s.StringData);
        Assert.Equal("Opaque", s.Type);
    }

    sealed class DenyHook : IAdmissionHook
    {
        public List<AdmissionRequest> Seen { get; } = [];

        public ValueTask ValidateAsync(AdmissionRequest request, CancellationToken ct)
        {
            Seen.Add(request);
            if (request.Resource.Plural == "virtualmachines" && request.Object?["spec"]?["nodeName"]?.ToString() == "forbidden")
                throw new ApiError(400, "BadRequest", "admission webhook \"vm.kubestack.io\" denied the request: nodeName forbidden");
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Admission_hooks_see_every_write_and_can_deny_it()
    {
        var hook = new DenyHook();
        _api.AdmissionHooks.Add(hook);
        await _client.CreateAsync(TestCrds.NewVm("ok"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("no", node: "forbidden")));
        Assert.Contains("denied the request", e.Response.Content);
        await _client.MergePatchAsync("ok", new { status = new { powerState = "x" } }, status: true);
        Assert.Contains(hook.Seen, r => r.Operation == "UPDATE" && r.SubResource == "status" && r.OldObject is not null);
        var ex = await Assert.ThrowsAsync<HttpOperationException>(() => _client.GetVmAsync("no"));
        Assert.Equal(HttpStatusCode.NotFound, ex.Response.StatusCode);
    }

    [Fact]
    public async Task Invalid_label_keys_and_values_are_422()
    {
        var vm = TestCrds.NewVm("a");
        vm.Metadata.Labels = new Dictionary<string, string> { ["host"] = "bad value!" };
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(vm));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("a valid label must be an empty string", e.Response.Content);
        vm.Metadata.Labels = new Dictionary<string, string> { ["-bad/key"] = "v" };
        e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(vm));
        Assert.Equal(422, (int)e.Response.StatusCode);
    }

    [Fact]
    public async Task Objects_larger_than_etcds_limit_are_refused_and_bodies_over_3MiB_are_413()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var big = new string('x', 2 * 1024 * 1024);
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.MergePatchAsync("a", new { spec = new { domain = new { blob = big } } }));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Response.StatusCode);
        Assert.Contains("etcdserver: request is too large", e.Response.Content);

        // Expect: 100-continue lets the server refuse before the body is sent (no race with a half-sent body)
        var huge = "{\"spec\":{\"domain\":{\"blob\":\"" + new string('x', 4 * 1024 * 1024) + "\"}}}";
        using var req = new HttpRequestMessage(HttpMethod.Patch, "/apis/doslab.io/v1/namespaces/default/virtualmachines/a")
        {
            Content = new StringContent(huge, Encoding.UTF8, "application/merge-patch+json"),
        };
        req.Headers.ExpectContinue = true;
        using var resp = await _http.SendAsync(req);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, resp.StatusCode);
        Assert.Equal("RequestEntityTooLarge", (string?)JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["reason"]);
    }

    [Fact]
    public async Task Unknown_paths_are_404_Status_objects()
    {
        using var resp = await _http.GetAsync("/apis/nope.io/v1/things");
        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        Assert.Equal("Status", (string?)JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["kind"]);
    }
}
