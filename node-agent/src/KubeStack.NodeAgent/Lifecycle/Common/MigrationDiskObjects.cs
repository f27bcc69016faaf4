using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Status;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>A volume that migrateVMDisk moved: where it was on the source node, and its new view on the target node.</summary>
/// <param name="SourcePath">The source file (resolved).</param>
/// <param name="SourcePool">The source storage pool's name, when it was known before the switch (null on a resumed attempt).</param>
/// <param name="Name">The volume's name (the same on both nodes).</param>
/// <param name="View">spec.volume of the disk on the target node.</param>
public sealed record MovedVolume(string SourcePath, string? SourcePool, string Name, JsonObject View);

/// <summary>
/// Lists the VirtualMachineDisk objects of one node (label host=&lt;node&gt;) in a namespace; the seam tests replace.
/// </summary>
public interface IDiskObjectLister
{
    Task<IReadOnlyList<KubeStackResource>> ListOnNodeAsync(string @namespace, string node, CancellationToken cancellationToken);
}

/// <summary>The lister through the Kubernetes API.</summary>
public sealed class KubeDiskObjectLister(IKubernetes client) : IDiskObjectLister
{
    public async Task<IReadOnlyList<KubeStackResource>> ListOnNodeAsync(string @namespace, string node, CancellationToken cancellationToken)
    {
        var r = KubeObjectApi.ApiResourceOf(CatalogLoader.Default.Kind(Kinds.VirtualMachineDisk));
        var list = await client.CustomObjects.ListNamespacedCustomObjectAsync<JsonObject>(r.Group, r.Version, @namespace, r.Plural,
            labelSelector: $"{Labels.Host}={node}", cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. (list["items"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(item => KubernetesJson.Deserialize<KubeStackResource>(item.ToJsonString()))
            .Where(o => o is not null)];
    }
}

/// <summary>
/// After migrateVMDisk switched a VM to its copied volumes, the VirtualMachineDisk objects of those volumes (on the
/// source node, found by the volume's pool and name, or by its path) follow it: each is handed over to the target node
/// exactly as the runtime hands over the object a request ran on (status.nodeName first, then one conditional patch
/// built by <see cref="SeedView.BuildSpecPatch"/>: host label, spec.nodeName, spec.volume with the new pool/path).
/// Idempotent: an object already handed over carries the target's label and is no longer listed for the source.
/// </summary>
public sealed class MigrationDiskObjects(IDiskObjectLister lister, IObjectApi objects)
{
    /// <summary>Hands over the disk objects of <paramref name="moved"/>; returns one sentence per volume (handed over or not found).</summary>
    public async Task<IReadOnlyList<string>> HandOverAsync(string @namespace, string vmName, string sourceNode, string targetNode,
        IReadOnlyList<MovedVolume> moved, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(moved);
        var report = new List<string>();
        if (moved.Count == 0)
        {
            return report;
        }

        var onSource = await lister.ListOnNodeAsync(@namespace, sourceNode, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<KubeStackResource>? onTarget = null;
        foreach (var volume in moved)
        {
            var match = onSource.FirstOrDefault(o => Matches(o, volume));
            if (match is null)
            {
                onTarget ??= await lister.ListOnNodeAsync(@namespace, targetNode, cancellationToken).ConfigureAwait(false);
                if (onTarget.FirstOrDefault(o => o.Metadata.Name == volume.Name && Str(o.Spec.Volume?["filename"]) == Str(volume.View["filename"])) is { } done)
                {
                    // handed over by an earlier attempt: left alone
                    report.Add($"VirtualMachineDisk {done.Metadata.Name} already belongs to node {targetNode}");
                    continue;
                }

                report.Add($"no VirtualMachineDisk object of volume {volume.Name} ({volume.SourcePath}) is on node {sourceNode} in namespace {@namespace}; none was moved");
                continue;
            }

            await HandOverAsync(match, vmName, targetNode, volume.View, cancellationToken).ConfigureAwait(false);
            report.Add($"VirtualMachineDisk {match.Metadata.Name} now belongs to node {targetNode}");
        }

        return report;
    }

    /// <summary>True when the disk object is the one of <paramref name="volume"/>: same pool and name, or same path in its view.</summary>
    public static bool Matches(KubeStackResource disk, MovedVolume volume)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(volume);
        var view = disk.Spec.Volume;
        var pool = Str(view?["pool"]);
        if (volume.SourcePool is not null && pool == volume.SourcePool && disk.Metadata.Name == volume.Name)
        {
            return true;
        }

        return Str(view?["filename"]) == volume.SourcePath || Str(view?["current"]) == volume.SourcePath;
    }

    private async Task HandOverAsync(KubeStackResource disk, string vmName, string targetNode, JsonObject view, CancellationToken ct)
    {
        var key = new ResourceKey(Kinds.VirtualMachineDisk, disk.Metadata.NamespaceProperty, disk.Metadata.Name);
        var uid = disk.Metadata.Uid;
        // status first (as the runtime records the new owner before the spec side): a crash in between leaves the
        // object labelled for the source, so the retry of migrateVMDisk lists it again and finishes
        var update = await objects.UpdateStatusAsync(key, latest =>
        {
            if (latest.Metadata.Uid != uid)
            {
                return false;
            }

            (latest.Status ??= new KubeStackStatus()).NodeName = targetNode;
            return true;
        }, disk, ct).ConfigureAwait(false);
        var current = update.Object ?? disk;
        view = (JsonObject)view.DeepClone();
        if (Str(disk.Spec.Volume?["disktype"]) is { } type)
        {
            view["disktype"] = type; // the pool type the disk was created with (the copy's pool is of the same kind)
        }

        var outcome = RequestOutcome.Success($"The volume of disk {disk.Metadata.Name} moved with VM {vmName} to node {targetNode} (migrateVMDisk).",
            view) with { MovedToNode = targetNode };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await objects.PatchAsync(key, SeedView.BuildSpecPatch(current, outcome, "volume", removeLifecycle: false, finalizers: null), ct)
                    .ConfigureAwait(false);
                return;
            }
            catch (KubeStack.Runtime.Api.KubeApiException ex) when (ex.IsConflict && attempt < 8)
            {
                current = await objects.GetAsync(key, ct).ConfigureAwait(false) ?? current;
            }
        }
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}
