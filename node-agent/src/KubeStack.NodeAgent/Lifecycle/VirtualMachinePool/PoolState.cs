using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>What libvirt says about a pool at one moment (sizes in bytes).</summary>
public sealed record PoolSnapshot
{
    public required string Name { get; init; }
    public required Guid Uuid { get; init; }
    /// <summary>libvirt's pool type (dir, netfs, ...).</summary>
    public required string LibvirtType { get; init; }
    public string? TargetPath { get; init; }
    public string? SourceHost { get; init; }
    public string? SourceDir { get; init; }
    public string? SourceFormat { get; init; }
    public required StoragePoolState State { get; init; }
    public required bool Persistent { get; init; }
    public required bool Autostart { get; init; }
    public required ulong Capacity { get; init; }
    public required ulong Allocation { get; init; }
    public required ulong Available { get; init; }
    /// <summary>Volume names (only known while the pool is active), sorted.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];
    public bool Active => State is StoragePoolState.Running or StoragePoolState.Degraded;

    /// <summary>Reads a pool: info, autostart, persistence, XML; refreshes and lists the volumes of an active pool.</summary>
    public static PoolSnapshot Read(LibvirtStoragePool pool, bool refresh = true)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var active = pool.IsActive();
        IReadOnlyList<string> volumes = [];
        if (active)
        {
            if (refresh)
            {
                pool.Refresh();
            }

            volumes = pool.ListAllVolumes().Select(v =>
            {
                using (v)
                {
                    return v.Name;
                }
            }).Order(StringComparer.Ordinal).ToList();
        }

        var info = pool.GetInfo();
        var xml = XElement.Parse(pool.GetXmlDesc());
        var source = xml.Element("source");
        return new PoolSnapshot
        {
            Name = pool.Name,
            Uuid = pool.Uuid,
            LibvirtType = (string?)xml.Attribute("type") ?? "unknown",
            TargetPath = (string?)xml.Element("target")?.Element("path"),
            SourceHost = (string?)source?.Element("host")?.Attribute("name"),
            SourceDir = (string?)source?.Element("dir")?.Attribute("path"),
            SourceFormat = (string?)source?.Element("format")?.Attribute("type"),
            State = info.State,
            Persistent = pool.IsPersistent(),
            Autostart = pool.GetAutostart(),
            Capacity = info.Capacity,
            Allocation = info.Allocation,
            Available = info.Available,
            Volumes = volumes,
        };
    }
}

/// <summary>The kube-stack facts about a pool that libvirt does not keep: the catalog type, content, cstor name, url.</summary>
public sealed record PoolLabels(string? PoolType, string? Content, string? PoolName, string? Url)
{
    /// <summary>From the request that created the pool, else from the view written before, else derived from libvirt.</summary>
    public static PoolLabels Of(KubeStackResource obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var create = obj.Spec.Lifecycle?["createPool"] as JsonObject;
        var view = obj.Spec.Pool;
        string? Pick(string requestKey, string viewKey) =>
            (string?)(create?[requestKey] as JsonValue) is { Length: > 0 } fromRequest ? fromRequest
            : view?[viewKey] is JsonValue v && v.TryGetValue<string>(out var fromView) && fromView.Length > 0 ? fromView : null;
        return new PoolLabels(Pick("type", "pooltype"), Pick("content", "content"), Pick("uuid", "poolname"), Pick("url", "url"));
    }
}

/// <summary>
/// spec.pool, the seed's pool view: flat fields like <c>virsh pool-info</c> plus kube-stack's (kinds.yaml
/// resourceShape of VirtualMachinePool), every value a string; sizes in bytes; plus the volumes found in the pool
/// (bounded).
/// </summary>
public static class PoolView
{
    /// <summary>At most this many volume names go into the view (the object must stay small).</summary>
    public const int MaxListedVolumes = 200;

    public static JsonObject Build(PoolSnapshot pool, PoolLabels labels)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(labels);
        var poolType = labels.PoolType ?? DerivedType(pool);
        var url = pool.LibvirtType == "netfs" && pool.SourceHost is not null
            ? $"{pool.SourceHost}:{pool.SourceDir}"
            : labels.Url ?? pool.TargetPath;
        var view = new JsonObject
        {
            ["_type"] = pool.LibvirtType,
            ["pooltype"] = poolType,
            ["content"] = labels.Content ?? "vmd",
            ["name"] = pool.Name,
            ["pool"] = pool.Name,
            ["poolname"] = labels.PoolName ?? pool.Name,
            ["uuid"] = pool.Uuid.ToString(),
            ["state"] = StateName(pool.State),
            ["persistent"] = pool.Persistent ? "yes" : "no",
            ["autostart"] = pool.Autostart ? "yes" : "no",
            ["capacity"] = Bytes(pool.Capacity),
            ["allocation"] = Bytes(pool.Allocation),
            ["free"] = Bytes(pool.Available),
            ["path"] = pool.TargetPath,
            ["url"] = url,
            ["volumecount"] = pool.Volumes.Count.ToString(CultureInfo.InvariantCulture),
            ["volumes"] = new JsonArray(pool.Volumes.Take(MaxListedVolumes).Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
        };
        return view;
    }

    /// <summary>virsh pool-info's words for a state.</summary>
    public static string StateName(StoragePoolState state) => state switch
    {
        StoragePoolState.Inactive => "inactive",
        StoragePoolState.Building => "building",
        StoragePoolState.Running => "running",
        StoragePoolState.Degraded => "degraded",
        StoragePoolState.Inaccessible => "inaccessible",
        _ => "unknown",
    };

    /// <summary>The catalog type of a pool nobody told us about (showPool of a pool made with virsh).</summary>
    public static string DerivedType(PoolSnapshot pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return pool.LibvirtType switch
        {
            "dir" => "localfs",
            "netfs" when pool.SourceFormat == "glusterfs" => "glusterfs",
            "netfs" => "nfs",
            var other => other,
        };
    }

    private static string Bytes(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
