using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Queue;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.Runtime.Tests.Agent;

/// <summary>
/// The agent judges a new request with the webhook's checks (RequestRuntimeOptions.CheckAdmission, on in the agent host):
/// a request the webhook would reject never reaches a handler; it ends Failed once, VirtctlError, naming the field.
/// </summary>
public sealed class RequestAdmissionTests
{
    private const string Node = "node1";
    private readonly FakeObjectApi _api = new();
    private readonly RecordingEvents _events = new();

    private static JsonObject ValidCreateDisk() => new()
    {
        ["type"] = "localfs", ["pool"] = "pool1", ["capacity"] = "10737418240", ["format"] = "qcow2",
    };

    private async Task<(KubeStackResource Object, FakeHandler Handler)> RunAsync(JsonObject parameters, bool checkAdmission = true)
    {
        var handler = new FakeHandler(Kinds.VirtualMachineDisk, "createDisk");
        var obj = _api.Create(TestObjects.New(Kinds.VirtualMachineDisk, "disk1", "createDisk", parameters));
        var key = new ResourceKey(obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        var processor = new RequestProcessor(_api, new HandlerRegistry([handler]), CatalogLoader.Default, new LifecycleEvents(_events, Node),
            new RequestRuntimeOptions { NodeName = Node, CheckAdmission = checkAdmission }, NullLogger<RequestProcessor>.Instance);
        Assert.Equal(WorkResult.Done, await processor.ProcessAsync(key, CancellationToken.None));
        return (_api.Peek(key)!, handler);
    }

    [Theory]
    [InlineData("pool", "pool1;touch /tmp/x")]
    [InlineData("pool", "$(reboot)")]
    [InlineData("capacity", "1\ntouch /tmp/x")]
    [InlineData("format", "--help")]
    [InlineData("zzUnknown", "x")]
    public async Task A_request_the_webhook_would_reject_ends_Failed_VirtctlError_naming_the_field_without_running_the_handler(string field, string value)
    {
        var parameters = ValidCreateDisk();
        parameters[field] = value;

        var (obj, handler) = await RunAsync(parameters);

        Assert.Equal(0, handler.Calls);
        Assert.Null(obj.Spec.Lifecycle);
        var record = obj.Status!.Lifecycle!;
        Assert.Equal((RequestPhase.Failed, ErrorClasses.VirtctlError), (record.Phase, record.Reason));
        Assert.Contains(field, record.Message, StringComparison.Ordinal);
        Assert.Contains("before touching the host", record.Message, StringComparison.Ordinal);
        Assert.Equal([ErrorClasses.VirtctlError], _events.Reasons);
        Assert.DoesNotContain(obj.Metadata.Finalizers ?? [], f => f == Finalizers.HostCleanup);
    }

    [Fact]
    public async Task A_valid_request_runs_the_handler()
    {
        var (obj, handler) = await RunAsync(ValidCreateDisk());

        Assert.Equal(1, handler.Calls);
        Assert.Equal(RequestPhase.Succeeded, obj.Status!.Lifecycle!.Phase);
    }

    [Fact]
    public async Task Without_the_check_an_in_process_harness_passes_parameters_through_to_the_handler()
    {
        var parameters = ValidCreateDisk();
        parameters["zzUnknown"] = "x";

        var (_, handler) = await RunAsync(parameters, checkAdmission: false);

        Assert.Equal(1, handler.Calls);
        Assert.Equal("x", (string?)Assert.Single(handler.Seen).Parameters["zzUnknown"]);
    }
}
