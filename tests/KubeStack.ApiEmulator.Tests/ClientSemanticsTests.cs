using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>
/// KubernetesClient against the emulator: object semantics. Each test names the kube-apiserver behaviour it mirrors;
/// docs/testing.md links the upstream documentation for each.
/// </summary>
public sealed class ClientSemanticsTests : IAsyncLifetime
{
    ApiEmulator _api = null!;
    IKubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiEmulator.StartAsync();
        await TestCrds.InstallAsync(_api);
        _client = _api.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    static async Task<HttpOperationException> Fails(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        return e;
    }

    static JsonNode Status(HttpOperationException e) => JsonNode.Parse(e.Response.Content)!;

    [Fact]
    public async Task Create_sets_uid_creationTimestamp_generation_1_and_a_resourceVersion()
    {
        var vm = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        Assert.False(string.IsNullOrEmpty(vm.Metadata.Uid));
        Assert.NotNull(vm.Metadata.CreationTimestamp);
        Assert.Equal(1, vm.Metadata.Generation);
        Assert.True(long.Parse(vm.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Every_write_gets_a_new_higher_resourceVersion()
    {
        // resourceVersion changes on every write (API conventions, "Concurrency Control and Consistency")
        var a = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        var b = await _client.MergePatchAsync("vm1", new { metadata = new { labels = new { x = "1" } } });
        var c = await _client.CreateAsync(TestCrds.NewVm("vm2"));
        var rvs = new[] { a, b, c }.Select(v => long.Parse(v.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(rvs[0] < rvs[1] && rvs[1] < rvs[2], string.Join(",", rvs));
    }

    [Fact]
    public async Task Create_of_an_existing_name_is_409_AlreadyExists()
    {
        await _client.CreateAsync(TestCrds.NewVm("vm1"));
        var e = await Fails(() => _client.CreateAsync(TestCrds.NewVm("vm1")));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        var s = Status(e);
        Assert.Equal("Status", (string?)s["kind"]);
        Assert.Equal("AlreadyExists", (string?)s["reason"]);
        Assert.Equal("virtualmachines.doslab.io \"vm1\" already exists", (string?)s["message"]);
    }

    [Fact]
    public async Task Get_of_a_missing_object_is_404_NotFound_Status()
    {
        var e = await Fails(() => _client.GetVmAsync("nope"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        var s = Status(e);
        Assert.Equal("NotFound", (string?)s["reason"]);
        Assert.Equal(404, (int?)s["code"]);
        Assert.Equal("virtualmachines.doslab.io \"nope\" not found", (string?)s["message"]);
        Assert.Equal("nope", (string?)s["details"]!["name"]);
    }

    [Fact]
    public async Task Update_with_a_stale_resourceVersion_is_409_Conflict()
    {
        var v1 = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        var stale = await _client.GetVmAsync("vm1");
        v1.Spec!["nodeName"] = "node23";
        await _client.ReplaceAsync(v1);
        stale.Spec!["nodeName"] = "node24";
        var e = await Fails(() => _client.ReplaceAsync(stale));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Equal("Conflict", (string?)Status(e)["reason"]);
        Assert.Contains("the object has been modified; please apply your changes to the latest version and try again", (string?)Status(e)["message"]);
        Assert.Equal("node23", (string?)(await _client.GetVmAsync("vm1")).Spec!["nodeName"]);
    }

    [Fact]
    public async Task Update_of_a_custom_resource_without_resourceVersion_is_rejected()
    {
        // custom resources do not allow unconditional updates
        var v = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        v.Metadata.ResourceVersion = null;
        var e = await Fails(() => _client.ReplaceAsync(v));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("metadata.resourceVersion", e.Response.Content);
    }

    [Fact]
    public async Task Generation_bumps_on_spec_changes_only()
    {
        await _client.CreateAsync(TestCrds.NewVm("vm1"));
        var labelled = await _client.MergePatchAsync("vm1", new { metadata = new { labels = new { a = "b" } } });
        Assert.Equal(1, labelled.Metadata.Generation);
        var specChanged = await _client.MergePatchAsync("vm1", new { spec = new { nodeName = "node9" } });
        Assert.Equal(2, specChanged.Metadata.Generation);
        var statusChanged = await _client.MergePatchAsync("vm1", new { status = new { powerState = "Running" } }, status: true);
        Assert.Equal(2, statusChanged.Metadata.Generation);
        Assert.Equal("Running", (string?)statusChanged.Status!["powerState"]);
    }

    [Fact]
    public async Task Without_the_status_subresource_status_is_written_through_the_main_endpoint_and_bumps_generation()
    {
        var crd = Yaml.LoadAll(TestCrds.VirtualMachineYaml.Replace("virtualmachines", "plainvms", StringComparison.Ordinal)
            .Replace("virtualmachine", "plainvm", StringComparison.Ordinal).Replace("kind: VirtualMachine", "kind: PlainVm", StringComparison.Ordinal)
            .Replace("shortNames: [vm]", "shortNames: [pvm]", StringComparison.Ordinal)
            .Replace("    subresources:\n      status: {}\n", "", StringComparison.Ordinal))[0];
        Assert.Null(crd["spec"]!["versions"]![0]!["subresources"]);
        await _api.ApplyCrdAsync(crd);
        var body = new JsonObject { ["apiVersion"] = "doslab.io/v1", ["kind"] = "PlainVm", ["metadata"] = new JsonObject { ["name"] = "p" }, ["status"] = new JsonObject { ["powerState"] = "Running" } };
        var created = JsonNode.Parse(KubernetesJson.Serialize(await _client.CustomObjects.CreateNamespacedCustomObjectAsync(body, "doslab.io", "v1", "default", "plainvms")))!;
        Assert.Equal("Running", (string?)created["status"]!["powerState"]);
        var patched = JsonNode.Parse(KubernetesJson.Serialize(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"status":{"powerState":"Shutoff"}}""", V1Patch.PatchType.MergePatch), "doslab.io", "v1", "default", "plainvms", "p")))!;
        Assert.Equal("Shutoff", (string?)patched["status"]!["powerState"]);
        Assert.Equal(2, (int?)patched["metadata"]!["generation"]);
    }

    [Fact]
    public async Task Main_endpoint_ignores_status_and_status_endpoint_ignores_spec()
    {
        var created = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        Assert.Null(created.Status); // status is dropped on create when the subresource is enabled

        var v = await _client.GetVmAsync("vm1");
        v.Status = new JsonObject { ["powerState"] = "Running" };
        v.Spec!["nodeName"] = "node5";
        var afterMain = await _client.ReplaceAsync(v);
        Assert.Null(afterMain.Status);
        Assert.Equal("node5", (string?)afterMain.Spec!["nodeName"]);

        afterMain.Status = new JsonObject { ["powerState"] = "Shutoff" };
        afterMain.Spec!["nodeName"] = "node6";
        var afterStatus = await _client.ReplaceStatusAsync(afterMain);
        Assert.Equal("Shutoff", (string?)afterStatus.Status!["powerState"]);
        Assert.Equal("node5", (string?)afterStatus.Spec!["nodeName"]);
        Assert.Equal(2, afterStatus.Metadata.Generation);
    }

    [Fact]
    public async Task A_no_op_update_keeps_the_resourceVersion()
    {
        var v = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        var same = await _client.MergePatchAsync("vm1", new { spec = new { nodeName = "node22" } });
        Assert.Equal(v.Metadata.ResourceVersion, same.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Delete_with_a_finalizer_only_marks_and_removing_the_last_finalizer_deletes()
    {
        var vm = TestCrds.NewVm("vm1");
        vm.Metadata.Finalizers = ["kubestack.io/cleanup", "other.io/x"];
        await _client.CreateAsync(vm);
        await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "vm1");
        var marked = await _client.GetVmAsync("vm1");
        Assert.NotNull(marked.Metadata.DeletionTimestamp);
        Assert.Equal(0, marked.Metadata.DeletionGracePeriodSeconds);

        // no new finalizers once deletion started
        var e = await Fails(() => _client.MergePatchAsync("vm1", new { metadata = new { finalizers = new[] { "kubestack.io/cleanup", "other.io/x", "new.io/y" } } }));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("no new finalizers can be added if the object is being deleted", e.Response.Content);

        await _client.MergePatchAsync("vm1", new { metadata = new { finalizers = new[] { "other.io/x" } } });
        Assert.NotNull((await _client.GetVmAsync("vm1")).Metadata.DeletionTimestamp);
        await _client.MergePatchAsync("vm1", new { metadata = new { finalizers = Array.Empty<string>() } });
        var gone = await Fails(() => _client.GetVmAsync("vm1"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Response.StatusCode);
    }

    [Fact]
    public async Task Delete_with_a_stale_resourceVersion_precondition_is_409()
    {
        var v = await _client.CreateAsync(TestCrds.NewVm("vm1"));
        await _client.MergePatchAsync("vm1", new { spec = new { nodeName = "n2" } });
        var e = await Fails(() => _client.CustomObjects.DeleteNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, "default", TestCrds.Plural, "vm1",
            new V1DeleteOptions { Preconditions = new V1Preconditions { ResourceVersion = v.Metadata.ResourceVersion } }));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Contains("Precondition failed", e.Response.Content);
    }

    [Fact]
    public async Task Concurrent_patches_without_resourceVersion_all_apply()
    {
        // a patch without a resourceVersion is re-applied to the latest object when a concurrent write races it
        // (the registry's GuaranteedUpdate loop), so none is lost and none fails with 409
        await _client.CreateAsync(TestCrds.NewVm("vm1"));
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            _client.MergePatchAsync("vm1", new { metadata = new { labels = new Dictionary<string, string> { [$"l{i}"] = "x" } } })));
        var labels = (await _client.GetVmAsync("vm1")).Metadata.Labels;
        Assert.All(Enumerable.Range(0, 20), i => Assert.True(labels.ContainsKey($"l{i}"), $"label l{i} lost"));
    }

    [Fact]
    public async Task Deleting_a_crd_removes_its_objects_and_stops_serving_the_kind()
    {
        await _client.CreateAsync(TestCrds.NewVm("vm1"));
        await _client.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("virtualmachines.doslab.io");
        var e = await Fails(() => _client.ListVmsAsync());
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        await TestCrds.InstallAsync(_api);
        Assert.Empty((await _client.ListVmsAsync()).Items);
    }

    [Fact]
    public async Task Label_selectors_support_equality_set_and_existence_forms()
    {
        await _client.CreateAsync(Labelled("a", ("host", "n1"), ("tier", "gold")));
        await _client.CreateAsync(Labelled("b", ("host", "n2")));
        await _client.CreateAsync(Labelled("c", ("host", "n3"), ("tier", "silver")));
        async Task<string> Names(string sel) => string.Join(",", (await _client.ListVmsAsync(labelSelector: sel)).Items.Select(i => i.Metadata.Name).Order());
        Assert.Equal("a", await Names("host=n1"));
        Assert.Equal("a", await Names("host==n1"));
        Assert.Equal("b,c", await Names("host!=n1"));
        Assert.Equal("a,c", await Names("host in (n1,n3)"));
        Assert.Equal("b", await Names("host notin (n1,n3)"));
        Assert.Equal("a,c", await Names("tier"));
        Assert.Equal("b", await Names("!tier"));
        Assert.Equal("c", await Names("tier,host=n3"));
    }

    static TestVm Labelled(string name, params (string K, string V)[] labels)
    {
        var vm = TestCrds.NewVm(name, node: null);
        vm.Metadata.Labels = labels.ToDictionary(l => l.K, l => l.V);
        return vm;
    }

    [Fact]
    public async Task Field_selectors_on_name_and_namespace_and_cluster_wide_list()
    {
        await _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "other" } });
        await _client.CreateAsync(TestCrds.NewVm("a"));
        await _client.CreateAsync(TestCrds.NewVm("b"));
        await _client.CreateAsync(TestCrds.NewVm("a", ns: "other"));
        Assert.Equal(["a"], (await _client.ListVmsAsync(fieldSelector: "metadata.name=a")).Items.Select(i => i.Metadata.Name));
        var all = (await _client.ListVmsAsync(ns: null)).Items;
        Assert.Equal(3, all.Count);
        var other = (await _client.ListVmsAsync(ns: null, fieldSelector: "metadata.namespace=other")).Items;
        Assert.Equal("other", Assert.Single(other).Metadata.NamespaceProperty);
        var e = await Fails(() => _client.ListVmsAsync(fieldSelector: "spec.nodeName=x"));
        Assert.Equal(HttpStatusCode.BadRequest, e.Response.StatusCode);
        Assert.Contains("field label not supported: spec.nodeName", e.Response.Content);
    }

    [Fact]
    public async Task Create_in_a_missing_namespace_is_404()
    {
        var e = await Fails(() => _client.CreateAsync(TestCrds.NewVm("a", ns: "nowhere")));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Equal("namespaces \"nowhere\" not found", (string?)Status(e)["message"]);
    }

    [Fact]
    public async Task System_namespaces_may_not_be_deleted_and_namespace_names_are_dns_labels()
    {
        var e = await Fails(() => _client.CoreV1.DeleteNamespaceAsync("default"));
        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        Assert.Equal("namespaces \"default\" is forbidden: this namespace may not be deleted", (string?)Status(e)["message"]);
        e = await Fails(() => _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "a.b" } }));
        Assert.Equal(422, (int)e.Response.StatusCode);
    }

    [Fact]
    public async Task Default_and_kube_system_namespaces_exist()
    {
        var names = (await _client.CoreV1.ListNamespaceAsync()).Items.Select(n => n.Metadata.Name).ToList();
        Assert.Contains("default", names);
        Assert.Contains("kube-system", names);
    }
}
