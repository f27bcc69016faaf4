using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>A small CRD written for these tests (the repository's crds/ are generated elsewhere; these tests do not depend on them).</summary>
internal static class TestCrds
{
    public const string Group = "doslab.io";
    public const string Version = "v1";
    public const string Plural = "virtualmachines";

    public const string VirtualMachineYaml = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: virtualmachines.doslab.io
        spec:
          group: doslab.io
          scope: Namespaced
          names:
            plural: virtualmachines
            singular: virtualmachine
            kind: VirtualMachine
            shortNames: [vm]
            categories: [kubestack]
          versions:
          - name: v1
            served: true
            storage: true
            subresources:
              status: {}
            additionalPrinterColumns:
            - name: Node
              type: string
              jsonPath: .spec.nodeName
            - name: Ready
              type: string
              jsonPath: .status.conditions[?(@.type=="Ready")].status
            - name: Power
              type: string
              jsonPath: .status.powerState
            - name: Age
              type: date
              jsonPath: .metadata.creationTimestamp
            schema:
              openAPIV3Schema:
                type: object
                description: A libvirt virtual machine managed by KubeStack.
                properties:
                  spec:
                    type: object
                    description: The desired state and the lifecycle request.
                    properties:
                      nodeName:
                        type: string
                        description: The node that runs the VM.
                      replicas:
                        type: integer
                        minimum: 0
                        maximum: 3
                      port:
                        x-kubernetes-int-or-string: true
                      note:
                        type: string
                        nullable: true
                        maxLength: 10
                      mode:
                        type: string
                        default: managed
                      lifecycle:
                        type: object
                        description: Exactly one lifecycle operation; removed when it ends.
                        maxProperties: 1
                        properties:
                          createDisk:
                            type: object
                            description: Creates a disk in a storage pool.
                            required: [capacity]
                            properties:
                              capacity:
                                type: string
                                description: Size in bytes.
                                pattern: '^[0-9]+$'
                              format:
                                type: string
                                enum: [qcow2, raw]
                              pool:
                                type: string
                                minLength: 1
                          reboot:
                            type: object
                            description: Reboots the VM.
                            properties: {}
                      domain:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
                  status:
                    type: object
                    properties:
                      observedGeneration:
                        type: integer
                      powerState:
                        type: string
                      conditions:
                        type: array
                        items:
                          type: object
                          required: [type, status]
                          properties:
                            type: {type: string}
                            status: {type: string, enum: ["True", "False", "Unknown"]}
                            reason: {type: string}
                            message: {type: string}
                            lastTransitionTime: {type: string}
        """;

    public static async Task InstallAsync(ApiEmulator api) =>
        await api.ApplyCrdAsync(Yaml.LoadAll(VirtualMachineYaml)[0]);

    public static TestVm NewVm(string name, string? node = "node22", Action<JsonObject>? spec = null, string ns = "default")
    {
        var s = new JsonObject();
        if (node is not null) s["nodeName"] = node;
        spec?.Invoke(s);
        return new TestVm
        {
            ApiVersion = "doslab.io/v1",
            Kind = "VirtualMachine",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = node is null ? null : new Dictionary<string, string> { ["host"] = node } },
            Spec = s,
        };
    }
}

/// <summary>A typed view of the test VirtualMachine for KubernetesClient calls.</summary>
public sealed class TestVm : IKubernetesObject<V1ObjectMeta>
{
    [System.Text.Json.Serialization.JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "doslab.io/v1";
    [System.Text.Json.Serialization.JsonPropertyName("kind")] public string Kind { get; set; } = "VirtualMachine";
    [System.Text.Json.Serialization.JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [System.Text.Json.Serialization.JsonPropertyName("spec")] public JsonObject? Spec { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("status")] public JsonObject? Status { get; set; }
}

/// <summary>KubernetesClient calls on the test VirtualMachine.</summary>
internal static class VmClient
{
    public static async Task<TestVm> CreateAsync(this IKubernetes c, TestVm vm, string? fieldValidation = null) =>
        KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(await c.CustomObjects.CreateNamespacedCustomObjectAsync(vm, TestCrds.Group, TestCrds.Version, vm.Metadata.NamespaceProperty ?? "default", TestCrds.Plural, fieldValidation: fieldValidation)));

    public static async Task<TestVm> GetVmAsync(this IKubernetes c, string name, string ns = "default") =>
        KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(await c.CustomObjects.GetNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, ns, TestCrds.Plural, name)));

    public static async Task<TestVm> ReplaceAsync(this IKubernetes c, TestVm vm) =>
        KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(await c.CustomObjects.ReplaceNamespacedCustomObjectAsync(vm, TestCrds.Group, TestCrds.Version, vm.Metadata.NamespaceProperty ?? "default", TestCrds.Plural, vm.Metadata.Name)));

    public static async Task<TestVm> ReplaceStatusAsync(this IKubernetes c, TestVm vm) =>
        KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(await c.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync(vm, TestCrds.Group, TestCrds.Version, vm.Metadata.NamespaceProperty ?? "default", TestCrds.Plural, vm.Metadata.Name)));

    public static async Task<TestVm> MergePatchAsync(this IKubernetes c, string name, object patch, bool status = false, string ns = "default")
    {
        var body = new V1Patch(patch, V1Patch.PatchType.MergePatch);
        var r = status
            ? await c.CustomObjects.PatchNamespacedCustomObjectStatusAsync(body, TestCrds.Group, TestCrds.Version, ns, TestCrds.Plural, name)
            : await c.CustomObjects.PatchNamespacedCustomObjectAsync(body, TestCrds.Group, TestCrds.Version, ns, TestCrds.Plural, name);
        return KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(r));
    }

    public static async Task<(List<TestVm> Items, string Rv)> ListVmsAsync(this IKubernetes c, string? ns = "default", string? labelSelector = null, string? fieldSelector = null)
    {
        var r = ns is null
            ? await c.CustomObjects.ListClusterCustomObjectAsync(TestCrds.Group, TestCrds.Version, TestCrds.Plural, labelSelector: labelSelector, fieldSelector: fieldSelector)
            : await c.CustomObjects.ListNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, ns, TestCrds.Plural, labelSelector: labelSelector, fieldSelector: fieldSelector);
        var node = JsonNode.Parse(KubernetesJson.Serialize(r))!;
        var items = ((JsonArray)node["items"]!).Select(i => KubernetesJson.Deserialize<TestVm>(i!.ToJsonString())).ToList();
        return (items, (string)node["metadata"]!["resourceVersion"]!);
    }

    /// <summary>Opens a watch on VMs and returns the async stream of events; errors (e.g. 410 Gone) go to <paramref name="onError"/>.</summary>
    public static IAsyncEnumerable<(WatchEventType Type, TestVm Object)> WatchVmsAsync(this IKubernetes c, string? resourceVersion, Action<Exception>? onError,
        CancellationToken ct, string ns = "default", string? labelSelector = null, string? fieldSelector = null, bool bookmarks = false, int? timeoutSeconds = null)
    {
        return Convert(c.CustomObjects.WatchListNamespacedCustomObjectAsync(TestCrds.Group, TestCrds.Version, ns, TestCrds.Plural,
            allowWatchBookmarks: bookmarks, fieldSelector: fieldSelector, labelSelector: labelSelector, resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct), ct);

        static async IAsyncEnumerable<(WatchEventType, TestVm)> Convert(IAsyncEnumerable<(WatchEventType, object)> source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var (t, o) in source.WithCancellation(ct))
                yield return (t, KubernetesJson.Deserialize<TestVm>(KubernetesJson.Serialize(o)));
        }
    }
}
