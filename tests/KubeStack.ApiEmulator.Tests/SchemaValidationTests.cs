using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>
/// CRD schema validation, pruning and defaulting
/// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation).
/// </summary>
public sealed class SchemaValidationTests : IAsyncLifetime
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

    async Task<JsonNode> Rejected(Action<JsonObject> spec)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("bad", spec: spec)));
        Assert.Equal(422, (int)e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal("Invalid", (string?)status["reason"]);
        Assert.Equal("VirtualMachine", (string?)status["details"]!["kind"]);
        return status;
    }

    static JsonObject Cause(JsonNode status) => (JsonObject)Assert.Single((JsonArray)status["details"]!["causes"]!)!;

    [Fact]
    public async Task Pattern_violation_is_422_naming_field_value_and_pattern()
    {
        var s = await Rejected(spec => spec["lifecycle"] = new JsonObject { ["createDisk"] = new JsonObject { ["capacity"] = "10G" } });
        Assert.Equal("VirtualMachine.doslab.io \"bad\" is invalid: spec.lifecycle.createDisk.capacity: Invalid value: \"10G\": spec.lifecycle.createDisk.capacity in body should match '^[0-9]+$'", (string?)s["message"]);
        var c = Cause(s);
        Assert.Equal("FieldValueInvalid", (string?)c["reason"]);
        Assert.Equal("spec.lifecycle.createDisk.capacity", (string?)c["field"]);
    }

    [Fact]
    public async Task Enum_violation_lists_the_supported_values()
    {
        var s = await Rejected(spec => spec["lifecycle"] = new JsonObject { ["createDisk"] = new JsonObject { ["capacity"] = "1", ["format"] = "vmdk" } });
        Assert.Equal("spec.lifecycle.createDisk.format", (string?)Cause(s)["field"]);
        Assert.Equal("Unsupported value: \"vmdk\": supported values: \"qcow2\", \"raw\"", (string?)Cause(s)["message"]);
        Assert.Equal("FieldValueNotSupported", (string?)Cause(s)["reason"]);
    }

    [Fact]
    public async Task Missing_required_field_is_Required_value()
    {
        var s = await Rejected(spec => spec["lifecycle"] = new JsonObject { ["createDisk"] = new JsonObject { ["format"] = "raw" } });
        Assert.Equal("spec.lifecycle.createDisk.capacity", (string?)Cause(s)["field"]);
        Assert.Equal("FieldValueRequired", (string?)Cause(s)["reason"]);
    }

    [Fact]
    public async Task MaxProperties_limits_lifecycle_to_one_operation()
    {
        var s = await Rejected(spec => spec["lifecycle"] = new JsonObject { ["createDisk"] = new JsonObject { ["capacity"] = "1" }, ["reboot"] = new JsonObject() });
        Assert.Equal("spec.lifecycle", (string?)Cause(s)["field"]);
        Assert.Equal("Too many: 2: must have at most 1 items", (string?)Cause(s)["message"]);
    }

    [Theory]
    [InlineData(-1, "spec.replicas in body should be greater than or equal to 0")]
    [InlineData(4, "spec.replicas in body should be less than or equal to 3")]
    public async Task Minimum_and_maximum_are_enforced(int replicas, string expected)
    {
        var s = await Rejected(spec => spec["replicas"] = replicas);
        Assert.Contains(expected, (string?)Cause(s)["message"]);
    }

    [Fact]
    public async Task Wrong_type_is_reported_with_the_expected_type()
    {
        var s = await Rejected(spec => spec["replicas"] = "two");
        Assert.Equal("Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"", (string?)Cause(s)["message"]);
    }

    [Fact]
    public async Task Length_limits_are_enforced()
    {
        var tooLong = await Rejected(spec => spec["note"] = "01234567890");
        Assert.Equal("FieldValueTooLong", (string?)Cause(tooLong)["reason"]);
        var tooShort = await Rejected(spec => spec["lifecycle"] = new JsonObject { ["createDisk"] = new JsonObject { ["capacity"] = "1", ["pool"] = "" } });
        Assert.Contains("spec.lifecycle.createDisk.pool in body should be at least 1 chars long", (string?)Cause(tooShort)["message"]);
    }

    [Fact]
    public async Task Int_or_string_accepts_both_and_nothing_else()
    {
        await _client.CreateAsync(TestCrds.NewVm("a", spec: s => s["port"] = 8080));
        await _client.CreateAsync(TestCrds.NewVm("b", spec: s => s["port"] = "http"));
        var s = await Rejected(spec => spec["port"] = true);
        Assert.Equal("spec.port", (string?)Cause(s)["field"]);
    }

    [Fact]
    public async Task Several_errors_are_all_reported()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("bad", spec: s => { s["replicas"] = 9; s["note"] = "01234567890"; })));
        var causes = (JsonArray)JsonNode.Parse(e.Response.Content)!["details"]!["causes"]!;
        Assert.Equal(["spec.note", "spec.replicas"], causes.Select(c => (string?)c!["field"]).Order());
        Assert.StartsWith("VirtualMachine.doslab.io \"bad\" is invalid: [", (string?)JsonNode.Parse(e.Response.Content)!["message"]);
    }

    [Fact]
    public async Task Unknown_fields_are_pruned_unless_the_schema_preserves_them()
    {
        var vm = TestCrds.NewVm("a", spec: s =>
        {
            s["colour"] = "blue";
            s["domain"] = new JsonObject { ["devices"] = new JsonObject { ["disk"] = new JsonArray(new JsonObject { ["_type"] = "file" }) } };
        });
        var created = await _client.CreateAsync(vm, fieldValidation: "Ignore");
        Assert.Null(created.Spec!["colour"]);
        Assert.Equal("file", (string?)created.Spec!["domain"]!["devices"]!["disk"]![0]!["_type"]);
    }

    [Fact]
    public async Task Strict_field_validation_rejects_unknown_fields_with_400()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CreateAsync(TestCrds.NewVm("a", spec: s => s["colour"] = "blue"), fieldValidation: "Strict"));
        Assert.Equal(HttpStatusCode.BadRequest, e.Response.StatusCode);
        Assert.Equal("VirtualMachine in version \"v1\" cannot be handled as a VirtualMachine: strict decoding error: unknown field \"spec.colour\"", (string?)JsonNode.Parse(e.Response.Content)!["message"]);
    }

    [Fact]
    public async Task Warn_reports_unknown_fields_in_Warning_headers()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_api.BaseUrl) };
        var body = """{"apiVersion":"doslab.io/v1","kind":"VirtualMachine","metadata":{"name":"w"},"spec":{"colour":"blue"}}""";
        using var resp = await http.PostAsync("/apis/doslab.io/v1/namespaces/default/virtualmachines", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, resp.StatusCode);
        Assert.Equal("299 - \"unknown field \\\"spec.colour\\\"\"", Assert.Single(resp.Headers.GetValues("Warning")));
    }

    [Fact]
    public async Task Defaults_are_applied_and_null_on_a_non_nullable_field_is_pruned()
    {
        var created = await _client.CreateAsync(TestCrds.NewVm("a", spec: s => { s["nodeName"] = null; s["note"] = null; }));
        Assert.Equal("managed", (string?)created.Spec!["mode"]);
        Assert.False(created.Spec.ContainsKey("nodeName")); // not nullable: pruned
        Assert.True(created.Spec.ContainsKey("note"));      // nullable: kept
    }

    [Fact]
    public async Task Status_is_validated_on_the_status_subresource()
    {
        await _client.CreateAsync(TestCrds.NewVm("a"));
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.MergePatchAsync("a", new { status = new { conditions = new[] { new { type = "Ready", status = "Yes" } } } }, status: true));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("status.conditions[0].status", e.Response.Content);
    }

    [Fact]
    public void Names_must_be_dns_subdomains()
    {
        Assert.Null(SchemaValidator.ValidateName("vm-1.a"));
        Assert.NotNull(SchemaValidator.ValidateName("VM_1"));
    }
}
