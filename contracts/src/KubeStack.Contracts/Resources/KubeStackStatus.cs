using System.Text.Json.Serialization;

namespace KubeStack.Contracts.Resources;

/// <summary>The Kubernetes-native view, written only through the status subresource (architecture §1.3).</summary>
public sealed class KubeStackStatus
{
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    [JsonPropertyName("nodeName")] public string? NodeName { get; set; }
    /// <summary>VirtualMachine only: Running, Paused, Stopped, ...</summary>
    [JsonPropertyName("powerState")] public string? PowerState { get; set; }
    [JsonPropertyName("conditions")] public List<ResourceCondition>? Conditions { get; set; }
    /// <summary>The last (or current) request.</summary>
    [JsonPropertyName("lifecycle")] public LifecycleRecord? Lifecycle { get; set; }
}

/// <summary>The standard condition shape (metav1.Condition).</summary>
public sealed class ResourceCondition
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "Unknown";
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    [JsonPropertyName("message")] public string Message { get; set; } = "";
    [JsonPropertyName("lastTransitionTime")] public DateTimeOffset LastTransitionTime { get; set; }
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
}

public static class ConditionTypes
{
    public const string Ready = "Ready";
    /// <summary>Set by the operator when the node of an accepted request has no live agent.</summary>
    public const string NodeReachable = "NodeReachable";
}

public enum RequestPhase
{
    Pending,
    Accepted,
    Running,
    Succeeded,
    Failed,
}

/// <summary>status.lifecycle: what happened to the last request.</summary>
public sealed class LifecycleRecord
{
    [JsonPropertyName("key")] public string Key { get; set; } = "";
    [JsonPropertyName("eventId")] public string? EventId { get; set; }
    [JsonPropertyName("phase")] [JsonConverter(typeof(JsonStringEnumConverter<RequestPhase>))] public RequestPhase Phase { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("startTime")] public DateTimeOffset? StartTime { get; set; }
    [JsonPropertyName("completionTime")] public DateTimeOffset? CompletionTime { get; set; }
    [JsonPropertyName("attempts")] public int Attempts { get; set; }
    /// <summary>metadata.generation of the spec that carried this request; identifies one submission.</summary>
    [JsonPropertyName("generation")] public long? Generation { get; set; }
}

/// <summary>The four asynchronous error classes of the seed (architecture §1.4).</summary>
public static class ErrorClasses
{
    public const string LibvirtError = "LibvirtError";
    public const string VirtctlError = "VirtctlError";
    public const string VirtletError = "VirtletError";
    public const string Exception = "Exception";
}
