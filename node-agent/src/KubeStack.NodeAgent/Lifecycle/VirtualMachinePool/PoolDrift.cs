using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskSnapshot;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>This node's objects by kind (the agent's informer caches), for telling which files of a pool belong to an object.</summary>
public sealed class StorageInventory(Func<string, IReadOnlyCollection<KubeStackResource>> objects)
{
    /// <summary>No objects known (tests, or before the caches are filled).</summary>
    public static readonly StorageInventory Empty = new(_ => []);

    public IReadOnlyCollection<KubeStackResource> Of(string kind) => objects(kind);
}

/// <summary>
/// Registering what is on disk in a pool and telling drift (docs/storage.md): every volume libvirt lists in the pool is
/// in spec.pool.volumes; those no object of this node accounts for (not a disk, disk image, disk snapshot or VM image
/// file, not a disk of a VM, not a copy in progress) are also in spec.pool.unregistered. Drift is what changed on the host
/// since the view was written: volumes that appeared or disappeared and the pool's state.
/// </summary>
public static class PoolDrift
{
    /// <summary>At most this many unregistered names go into the view.</summary>
    public const int MaxListed = PoolView.MaxListedVolumes;

    /// <summary>Entries of a pool directory that belong to the agent itself rather than to an object.</summary>
    public static readonly IReadOnlySet<string> AgentEntries = new HashSet<string>(StringComparer.Ordinal) { "kubestack-backups", "lost+found" };

    /// <summary>A file being written (<c>.&lt;name&gt;.part</c>): a copy in progress, or left by a crash until the retry removes it.</summary>
    public static bool IsTemporary(string volume) =>
        volume.StartsWith('.') && volume.EndsWith(".part", StringComparison.Ordinal);

    /// <summary>The volumes of pool <paramref name="pool"/> (directory <paramref name="directory"/>) that no object accounts for, sorted.</summary>
    public static IReadOnlyList<string> Unregistered(string pool, string? directory, IReadOnlyList<string> volumes, StorageInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(volumes);
        ArgumentNullException.ThrowIfNull(inventory);
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in inventory.Of(Kinds.VirtualMachineDisk))
        {
            if (DiskPlace.Of(disk)?.Pool == pool)
            {
                owned.Add(disk.Metadata.Name);
            }
        }

        foreach (var image in inventory.Of(Kinds.VirtualMachineDiskImage))
        {
            if (DiskImagePlace.PoolOf(image) == pool)
            {
                owned.Add(image.Metadata.Name);
            }
        }

        foreach (var snapshot in inventory.Of(Kinds.VirtualMachineDiskSnapshot))
        {
            if (DiskSnapshotPlace.ParametersOf(snapshot) is { } p && (string?)p["pool"] == pool)
            {
                owned.Add($"{(string?)p["vol"]}.{snapshot.Metadata.Name}");
            }
        }

        var imagePrefixes = inventory.Of(Kinds.VirtualMachineImage).Select(i => i.Metadata.Name + ".").ToList();
        if (directory is not null)
        {
            var dir = directory.TrimEnd('/');
            foreach (var vm in inventory.Of(Kinds.VirtualMachine))
            {
                foreach (var file in DiskFilesOf(vm.Spec.Domain))
                {
                    if (Path.GetDirectoryName(file) == dir)
                    {
                        owned.Add(Path.GetFileName(file));
                    }
                }
            }
        }

        return volumes
            .Where(v => !owned.Contains(v) && !IsTemporary(v) && !AgentEntries.Contains(v))
            .Where(v => !imagePrefixes.Any(prefix => v.StartsWith(prefix, StringComparison.Ordinal) && IsImageFile(v[prefix.Length..])))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The view with the registration facts: <c>unregistered</c> (bounded) and <c>unregisteredcount</c>.</summary>
    public static JsonObject WithRegistration(JsonObject view, IReadOnlyList<string> unregistered)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(unregistered);
        view["unregisteredcount"] = unregistered.Count.ToString(CultureInfo.InvariantCulture);
        view["unregistered"] = new JsonArray(unregistered.Take(MaxListed).Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        return view;
    }

    /// <summary>
    /// What changed on the host between the view written before and the one observed now, as a sentence; null when
    /// nothing did (a change of registration alone, because an object came or went, is not drift).
    /// </summary>
    public static string? Describe(JsonObject? before, JsonObject now)
    {
        ArgumentNullException.ThrowIfNull(now);
        var parts = new List<string>();
        var old = Names(before?["volumes"]);
        var current = Names(now["volumes"]);
        var appeared = current.Except(old).Where(v => !IsTemporary(v)).Order(StringComparer.Ordinal).ToList();
        var disappeared = old.Except(current).Where(v => !IsTemporary(v)).Order(StringComparer.Ordinal).ToList();
        if (appeared.Count > 0)
        {
            parts.Add($"volume(s) appeared: {Join(appeared)}");
        }

        if (disappeared.Count > 0)
        {
            parts.Add($"volume(s) disappeared: {Join(disappeared)}");
        }

        var oldState = (string?)(before?["state"] as JsonValue);
        var newState = (string?)(now["state"] as JsonValue);
        if (oldState is not null && oldState != newState)
        {
            parts.Add($"its state changed from {oldState} to {newState}");
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>A copy of a pool view without its sizes, which change with every write to the file system.</summary>
    public static JsonObject? WithoutSizes(JsonObject? view)
    {
        if (view?.DeepClone() is not JsonObject copy)
        {
            return null;
        }

        copy.Remove("capacity");
        copy.Remove("allocation");
        copy.Remove("free");
        return copy;
    }

    private static bool IsImageFile(string suffix) =>
        suffix == "xml" || (suffix.Length == 3 && suffix[0] is 'v' or 'h' or 's' && suffix[1] == 'd' && char.IsAsciiLetterLower(suffix[2]));

    private static HashSet<string> Names(JsonNode? array) =>
        (array as JsonArray)?.Select(n => (string?)(n as JsonValue)).OfType<string>().ToHashSet(StringComparer.Ordinal) ?? [];

    private static string Join(IReadOnlyList<string> names) =>
        names.Count <= 10 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(10))} and {names.Count - 10} more";

    /// <summary>The file sources of spec.domain's disks (the seed's JSON form of the domain XML).</summary>
    private static IEnumerable<string> DiskFilesOf(JsonObject? domain)
    {
        var disks = domain?["devices"]?["disk"];
        var list = disks as JsonArray ?? (disks is JsonObject single ? [single.DeepClone()] : []);
        foreach (var disk in list.OfType<JsonObject>())
        {
            if (ObjectRequests.ViewField(disk["source"] as JsonObject, "_file") is { } file)
            {
                yield return file;
            }
        }
    }
}
