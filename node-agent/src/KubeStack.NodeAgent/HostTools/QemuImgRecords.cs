using System.Text.Json;
using System.Text.Json.Serialization;

namespace KubeStack.NodeAgent.HostTools;

/// <summary><c>qemu-img info --output=json</c> of one image (QEMU's ImageInfo). Sizes in bytes.</summary>
public sealed record QemuImgInfo
{
    [JsonPropertyName("filename")] public string Filename { get; init; } = string.Empty;
    [JsonPropertyName("format")] public string Format { get; init; } = string.Empty;
    [JsonPropertyName("virtual-size")] public long VirtualSize { get; init; }
    [JsonPropertyName("actual-size")] public long? ActualSize { get; init; }
    [JsonPropertyName("cluster-size")] public long? ClusterSize { get; init; }
    [JsonPropertyName("dirty-flag")] public bool? DirtyFlag { get; init; }
    [JsonPropertyName("encrypted")] public bool? Encrypted { get; init; }
    [JsonPropertyName("backing-filename")] public string? BackingFilename { get; init; }
    [JsonPropertyName("full-backing-filename")] public string? FullBackingFilename { get; init; }
    [JsonPropertyName("backing-filename-format")] public string? BackingFilenameFormat { get; init; }
    [JsonPropertyName("snapshots")] public IReadOnlyList<QemuImgSnapshot> Snapshots { get; init; } = [];
    [JsonPropertyName("format-specific")] public QemuImgFormatSpecific? FormatSpecific { get; init; }
}

/// <summary>An internal snapshot as qemu-img lists it.</summary>
public sealed record QemuImgSnapshot
{
    [JsonPropertyName("id")] public string Id { get; init; } = string.Empty;
    [JsonPropertyName("name")] public string Name { get; init; } = string.Empty;
    [JsonPropertyName("vm-state-size")] public long VmStateSize { get; init; }
    [JsonPropertyName("date-sec")] public long DateSec { get; init; }
    [JsonPropertyName("date-nsec")] public long DateNsec { get; init; }
    [JsonPropertyName("vm-clock-sec")] public long VmClockSec { get; init; }
    [JsonPropertyName("vm-clock-nsec")] public long VmClockNsec { get; init; }
    [JsonPropertyName("icount")] public long? ICount { get; init; }

    [JsonIgnore]
    public DateTimeOffset CreatedAt => DateTimeOffset.FromUnixTimeSeconds(DateSec).AddTicks(DateNsec / 100);
}

/// <summary>The format-specific part; for qcow2 <see cref="Qcow2"/> reads its fields.</summary>
public sealed record QemuImgFormatSpecific
{
    [JsonPropertyName("type")] public string Type { get; init; } = string.Empty;
    [JsonPropertyName("data")] public JsonElement Data { get; init; }

    [JsonIgnore]
    public QemuImgQcow2Data? Qcow2 =>
        Type == "qcow2" && Data.ValueKind == JsonValueKind.Object ? Data.Deserialize<QemuImgQcow2Data>() : null;
}

public sealed record QemuImgQcow2Data
{
    [JsonPropertyName("compat")] public string? Compat { get; init; }
    [JsonPropertyName("compression-type")] public string? CompressionType { get; init; }
    [JsonPropertyName("lazy-refcounts")] public bool? LazyRefcounts { get; init; }
    [JsonPropertyName("refcount-bits")] public int? RefcountBits { get; init; }
    [JsonPropertyName("corrupt")] public bool? Corrupt { get; init; }
    [JsonPropertyName("extended-l2")] public bool? ExtendedL2 { get; init; }
}

/// <summary><c>qemu-img check --output=json</c> (QEMU's ImageCheck) plus the exit code: 0 clean, 2 corruptions,
/// 3 leaks only.</summary>
public sealed record QemuImgCheckResult
{
    [JsonPropertyName("filename")] public string Filename { get; init; } = string.Empty;
    [JsonPropertyName("format")] public string Format { get; init; } = string.Empty;
    [JsonPropertyName("check-errors")] public long CheckErrors { get; init; }
    [JsonPropertyName("image-end-offset")] public long? ImageEndOffset { get; init; }
    [JsonPropertyName("corruptions")] public long? Corruptions { get; init; }
    [JsonPropertyName("leaks")] public long? Leaks { get; init; }
    [JsonPropertyName("corruptions-fixed")] public long? CorruptionsFixed { get; init; }
    [JsonPropertyName("leaks-fixed")] public long? LeaksFixed { get; init; }
    [JsonPropertyName("total-clusters")] public long? TotalClusters { get; init; }
    [JsonPropertyName("allocated-clusters")] public long? AllocatedClusters { get; init; }
    [JsonPropertyName("fragmented-clusters")] public long? FragmentedClusters { get; init; }
    [JsonPropertyName("compressed-clusters")] public long? CompressedClusters { get; init; }
    [JsonIgnore] public int ExitCode { get; init; }

    [JsonIgnore]
    public bool IsClean => CheckErrors == 0 && (Corruptions ?? 0) == 0 && (Leaks ?? 0) == 0;
}

/// <summary>Parses qemu-img's JSON output. Pure; throws <see cref="JsonException"/> on output it does not understand.</summary>
internal static class QemuImgJson
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNameCaseInsensitive = false };

    internal static QemuImgInfo ParseInfo(string json) =>
        Validate(JsonSerializer.Deserialize<QemuImgInfo>(json, Options));

    internal static IReadOnlyList<QemuImgInfo> ParseInfoChain(string json)
    {
        var chain = JsonSerializer.Deserialize<List<QemuImgInfo>>(json, Options) ?? throw new JsonException("qemu-img printed null instead of an image array");
        if (chain.Count == 0) throw new JsonException("qemu-img printed an empty backing chain");
        foreach (var i in chain) Validate(i);
        return chain;
    }

    internal static QemuImgCheckResult ParseCheck(string json, int exitCode)
    {
        var r = JsonSerializer.Deserialize<QemuImgCheckResult>(json, Options) ?? throw new JsonException("qemu-img check printed null");
        return r with { ExitCode = exitCode };
    }

    private static QemuImgInfo Validate(QemuImgInfo? info)
    {
        if (info is null) throw new JsonException("qemu-img info printed null");
        if (string.IsNullOrEmpty(info.Format)) throw new JsonException("qemu-img info output has no \"format\"");
        return info;
    }
}
