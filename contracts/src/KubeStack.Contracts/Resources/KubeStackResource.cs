using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace KubeStack.Contracts.Resources;

/// <summary>
/// One doslab.io/v1 object of any of the 8 kinds (architecture §1). The spec carries the request
/// (<c>spec.lifecycle</c>, exactly one key), the target node, and the seed's result view; <c>.status</c> is the
/// Kubernetes-native view written through the status subresource.
/// </summary>
public class KubeStackResource : IKubernetesObject<V1ObjectMeta>, ISpec<KubeStackSpec>, IStatus<KubeStackStatus?>
{
    public const string Group = "doslab.io";
    public const string Version = "v1";
    public const string GroupVersion = Group + "/" + Version;

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public KubeStackSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public KubeStackStatus? Status { get; set; }
}

/// <summary>The spec of every kind: request, target node and the seed's result view.</summary>
public sealed class KubeStackSpec
{
    /// <summary>Where to run (creates); else the node that owns the object.</summary>
    [JsonPropertyName("nodeName")] public string? NodeName { get; set; }

    /// <summary>The request: one operation key from the catalog, with its parameters.</summary>
    [JsonPropertyName("lifecycle")] public JsonObject? Lifecycle { get; set; }

    /// <summary>The seed's status object (shaped like a Kubernetes Status).</summary>
    [JsonPropertyName("status")] public SeedStatus? Status { get; set; }

    /// <summary>VirtualMachine: running, shutoff, paused, ... (the seed's power state).</summary>
    [JsonPropertyName("powerstate")] public string? PowerState { get; set; }

    /// <summary>VirtualMachine and VirtualMachineImage: the libvirt domain XML as JSON (§1.7).</summary>
    [JsonPropertyName("domain")] public JsonObject? Domain { get; set; }

    /// <summary>VirtualMachineSnapshot: the libvirt domainsnapshot XML as JSON.</summary>
    [JsonPropertyName("domainsnapshot")] public JsonObject? DomainSnapshot { get; set; }

    /// <summary>VirtualMachineDisk, VirtualMachineDiskImage, VirtualMachineDiskSnapshot: the volume.</summary>
    [JsonPropertyName("volume")] public JsonObject? Volume { get; set; }

    /// <summary>VirtualMachinePool: the pool.</summary>
    [JsonPropertyName("pool")] public JsonObject? Pool { get; set; }

    /// <summary>VirtualMachineNetwork: the network's kind (l2bridge, l3switch, address, ...).</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }

    /// <summary>VirtualMachineNetwork: the real OVS/OVN objects read back.</summary>
    [JsonPropertyName("data")] public JsonObject? Data { get; set; }

    /// <summary>Fields the contract does not name are kept as they are.</summary>
    [JsonExtensionData] public IDictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The single operation key under spec.lifecycle, or null when there is no request.</summary>
    [JsonIgnore]
    public string? LifecycleKey => Lifecycle is { Count: 1 } l ? l.First().Key : null;
}

/// <summary>spec.status: a Kubernetes-Status-shaped outcome, plus the older client's conditions path.</summary>
public sealed class SeedStatus
{
    [JsonPropertyName("kind")] public string Kind { get; set; } = "Status";
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "v1";
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("code")] public int Code { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("details")] public SeedStatusDetails? Details { get; set; }
    [JsonPropertyName("conditions")] public SeedConditions? Conditions { get; set; }
}

public sealed class SeedStatusDetails
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("kind")] public string? Kind { get; set; }
    [JsonPropertyName("group")] public string? Group { get; set; }
    [JsonPropertyName("causes")] public List<SeedStatusCause>? Causes { get; set; }
}

public sealed class SeedStatusCause
{
    [JsonPropertyName("field")] public string? Field { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

public sealed class SeedConditions
{
    [JsonPropertyName("state")] public SeedConditionState? State { get; set; }
}

public sealed class SeedConditionState
{
    [JsonPropertyName("waiting")] public SeedWaiting? Waiting { get; set; }
}

public sealed class SeedWaiting
{
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}
