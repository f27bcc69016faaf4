using k8s;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;

namespace KubeStack.Operator.Tests;

public sealed class WebhookFixture : IAsyncLifetime
{
    public Cluster Cluster { get; private set; } = null!;
    public WebhookHost Webhook { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await Cluster.StartAsync();
        Webhook = await WebhookHost.StartAsync(Cluster);
    }

    public async Task DisposeAsync()
    {
        await Webhook.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>The admission webhook over real HTTPS (AdmissionReview v1 in and out), with the emulator as its API server.</summary>
public sealed class WebhookTests : IClassFixture<WebhookFixture>
{
    private readonly Cluster _cluster;
    private readonly WebhookHost _webhook;

    public WebhookTests(WebhookFixture fixture)
    {
        _cluster = fixture.Cluster;
        _webhook = fixture.Webhook;
    }

    public static TheoryData<string, string> Operations()
    {
        var data = new TheoryData<string, string>();
        foreach (var op in CatalogLoader.Default.Operations)
        {
            data.Add(op.Kind, op.Key);
        }

        return data;
    }

    private static void AssertDenied(JsonObject response, string expectedMessage, int code = 422)
    {
        Assert.False((bool)response["allowed"]!, response.ToJsonString());
        Assert.Equal(expectedMessage, (string?)response["status"]?["message"]);
        Assert.Equal(code, (int)response["status"]!["code"]!);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task An_undocumented_parameter_is_refused_with_the_validation_librarys_message(string kind, string key)
    {
        var op = CatalogLoader.Default.Find(kind, key)!;
        var body = CatalogRequests.Baseline(op);
        body["undocumentedFlag"] = "x";
        var spec = CatalogRequests.Spec(key, body);
        var response = await _webhook.ReviewAsync("CREATE", kind, "obj1", spec);
        var expected = RequestValidator.FirstErrorMessage(kind, "obj1", spec);
        Assert.NotNull(expected);
        Assert.Contains("parameter 'undocumentedFlag' is not documented for operation '" + key + "'", expected, StringComparison.Ordinal);
        AssertDenied(response, expected!);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task A_parameter_that_breaks_its_rule_is_refused_with_the_validation_librarys_message(string kind, string key)
    {
        var op = CatalogLoader.Default.Find(kind, key)!;
        var (body, what) = CatalogRequests.Violating(op, "obj1");
        var spec = CatalogRequests.Spec(key, body);
        var response = await _webhook.ReviewAsync("CREATE", kind, "obj1", spec);
        var expected = RequestValidator.FirstErrorMessage(kind, "obj1", spec);
        Assert.True(expected is not null, $"{kind}/{key}: the generated violation ({what}) is valid");
        Assert.Contains("(rule ", expected, StringComparison.Ordinal);
        AssertDenied(response, expected!);
    }

    [Fact]
    public async Task An_operation_of_another_kind_is_refused()
    {
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachinePool, "pooltest1", CatalogRequests.Spec("createDisk", new JsonObject()));
        AssertDenied(response, "VirtualMachinePool 'pooltest1': operation 'createDisk' does not belong to VirtualMachinePool; it is an operation of VirtualMachineDisk, so create or use a VirtualMachineDisk for it (rule wrongKind).");
    }

    private static JsonObject CreateDisk(string pool) => CatalogRequests.Spec("createDisk", new JsonObject
    {
        ["type"] = "localfs",
        ["pool"] = pool,
        ["capacity"] = "10737418240",
        ["format"] = "qcow2",
    });

    [Fact]
    public async Task A_createDisk_naming_a_pool_that_does_not_exist_is_refused_as_not_found()
    {
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachineDisk, "disk1", CreateDisk("pool9"));
        AssertDenied(response, "VirtualMachineDisk 'disk1': parameter 'pool' of operation 'createDisk' names VirtualMachinePool 'pool9', which does not exist in namespace default (rule references); create it first or fix the name.", 404);
    }

    [Fact]
    public async Task A_createDisk_on_an_existing_pool_is_allowed()
    {
        await _cluster.CreateExistingAsync(Kinds.VirtualMachinePool, "pool-a", "node1");
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachineDisk, "disk1", CreateDisk("pool-a"));
        Assert.True((bool)response["allowed"]!, response.ToJsonString());
    }

    [Fact]
    public async Task A_create_on_an_object_that_already_has_a_host_side_is_refused()
    {
        await _cluster.CreateExistingAsync(Kinds.VirtualMachinePool, "pool-b", "node1");
        var spec = CreateDisk("pool-b");
        spec["volume"] = new JsonObject { ["name"] = "disk1" };
        var old = new JsonObject { ["kind"] = Kinds.VirtualMachineDisk, ["metadata"] = new JsonObject { ["name"] = "disk1" }, ["spec"] = new JsonObject { ["volume"] = new JsonObject { ["name"] = "disk1" } } };
        var response = await _webhook.ReviewAsync("UPDATE", Kinds.VirtualMachineDisk, "disk1", spec, old, status: new JsonObject { ["nodeName"] = "node1" });
        AssertDenied(response, "VirtualMachineDisk 'disk1': createDisk refused: the VirtualMachineDisk already exists on node node1 (spec.volume is set); delete it first or create one with another name.", 409);
    }

    [Fact]
    public async Task A_create_whose_name_is_taken_on_the_node_by_another_namespace_is_refused()
    {
        await _cluster.Client.CoreV1.CreateNamespaceAsync(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "team-b" } });
        await _cluster.CreateExistingAsync(Kinds.VirtualMachinePool, "pool-c", "node1");
        await _cluster.CreateExistingAsync(Kinds.VirtualMachineDisk, "disk1", "node1", "team-b");
        var spec = CreateDisk("pool-c");
        spec["nodeName"] = "node1";
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachineDisk, "disk1", spec);
        AssertDenied(response, "VirtualMachineDisk 'disk1': createDisk refused: a VirtualMachineDisk named 'disk1' already exists on node node1 (namespace team-b); host names are per node, so choose another name.", 409);
    }

    [Fact]
    public async Task An_update_operation_on_an_object_never_created_is_refused()
    {
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachine, "vmtest1", CatalogRequests.Spec("startVM", new JsonObject()));
        var message = (string?)response["status"]?["message"];
        Assert.False((bool)response["allowed"]!);
        Assert.StartsWith("VirtualMachine 'vmtest1': startVM needs an existing VirtualMachine, but this one has not been created on any node yet (", message, StringComparison.Ordinal);
        Assert.Equal(404, (int)response["status"]!["code"]!);
    }

    [Fact]
    public async Task A_new_request_while_one_is_running_is_refused()
    {
        var old = new JsonObject
        {
            ["kind"] = Kinds.VirtualMachine,
            ["metadata"] = new JsonObject { ["name"] = "vmtest1", ["generation"] = 1, ["labels"] = new JsonObject { [Labels.EventId] = "ev-1" } },
            ["spec"] = new JsonObject { ["lifecycle"] = new JsonObject { ["startVM"] = new JsonObject() }, ["domain"] = new JsonObject() },
            ["status"] = new JsonObject { ["nodeName"] = "node1", ["lifecycle"] = new JsonObject { ["key"] = "startVM", ["eventId"] = "ev-1", ["phase"] = "Running", ["generation"] = 1 } },
        };
        var spec = CatalogRequests.Spec("stopVM", new JsonObject());
        spec["domain"] = new JsonObject();
        var response = await _webhook.ReviewAsync("UPDATE", Kinds.VirtualMachine, "vmtest1", spec, old);
        AssertDenied(response, "VirtualMachine 'vmtest1': request 'startVM' (event ev-1) is still running on node node1; submit 'stopVM' after it ends (when spec.lifecycle is removed). One request at a time per object.", 409);
    }

    [Fact]
    public async Task A_write_that_leaves_the_request_unchanged_is_allowed_without_checks()
    {
        // Even an invalid request already stored (webhook was off) does not block the agent's own writes.
        var spec = CatalogRequests.Spec("createDisk", new JsonObject { ["bogus"] = "1" });
        var old = new JsonObject { ["kind"] = Kinds.VirtualMachineDisk, ["metadata"] = new JsonObject { ["name"] = "disk1" }, ["spec"] = spec.DeepClone() };
        spec["status"] = new JsonObject { ["status"] = "Failure" };
        var response = await _webhook.ReviewAsync("UPDATE", Kinds.VirtualMachineDisk, "disk1", spec, old);
        Assert.True((bool)response["allowed"]!, response.ToJsonString());
    }

    [Fact]
    public async Task An_object_without_a_request_is_allowed()
    {
        var response = await _webhook.ReviewAsync("CREATE", Kinds.VirtualMachinePool, "pool1", new JsonObject { ["pool"] = new JsonObject() });
        Assert.True((bool)response["allowed"]!);
    }
}
