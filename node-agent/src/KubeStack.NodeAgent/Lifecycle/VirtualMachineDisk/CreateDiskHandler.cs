using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// createDisk: a qcow2 volume of <c>capacity</c> bytes named after the resource in the given pool, made through
/// libvirt's storage API (virStorageVolCreateXML, which runs qemu-img in libvirtd). Probes first: a volume of that
/// name with the same format and virtual size is success (a resumed request converges to one volume); a different
/// one is an error. The pool must exist and be active on this node.
/// </summary>
public sealed class CreateDiskHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "createDisk";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating disk {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var type = StorageParameters.Required(p, "type", Key);
        PoolOperations.RefuseVendorType(type, node);
        var format = StorageParameters.Required(p, "format", Key);
        if (format != DiskOperations.Format)
        {
            throw new RequestParameterException("format", $"{Key}.format must be qcow2, not '{format}'.");
        }

        var poolName = StorageParameters.Required(p, "pool", Key);
        var capacity = StorageParameters.Bytes(p, "capacity", Key, DiskOperations.MinCapacity, DiskOperations.MaxCapacity);
        var expectedSize = DiskOperations.VirtualSizeOf(capacity);

        var connection = libvirt.Connection;
        using var pool = DiskOperations.RequireActivePool(connection, poolName, node);
        var poolSnapshot = PoolSnapshot.Read(pool, refresh: false);
        var path = DiskOperations.PathIn(poolSnapshot.TargetPath, context.Name, poolName, node);
        var place = new DiskPlace(context.Name, poolName, PoolNameOf(context, poolName), type);

        using var existing = pool.TryLookupStorageVolByName(context.Name);
        if (existing is not null)
        {
            var info = await qemuImg.InfoAsync(existing.GetPath(), cancellationToken: ct).ConfigureAwait(false);
            if (info.Format != DiskOperations.Format || info.VirtualSize != expectedSize)
            {
                throw new StorageRefusedException(ErrorClasses.LibvirtError,
                    $"A volume named {context.Name} already exists in pool {poolName} on node {node} as {info.Format} of {info.VirtualSize} bytes, " +
                    $"not {format} of {capacity} bytes; delete it (deleteDisk) or choose another name. It was left unchanged.");
            }

            var users = DiskOperations.DomainsUsing(connection, info.Filename, poolName, context.Name);
            return HandlerResult.Succeeded(DiskOperations.View(info, place, users), message:
                $"Disk {context.Name} ({format}, {info.VirtualSize} bytes) exists in pool {poolName} at {info.Filename} on node {node}.");
        }

        using var created = pool.StorageVolCreateXml(DiskOperations.VolumeXml(context.Name, capacity));
        var createdPath = created.GetPath();
        var createdInfo = await qemuImg.InfoAsync(createdPath, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskOperations.View(createdInfo, place, []), message:
            $"Disk {context.Name} ({format}, {createdInfo.VirtualSize} bytes) was created in pool {poolName} at {path} on node {node}.");
    }

    private static string PoolNameOf(RequestContext context, string poolName) =>
        context.Object.Spec.Volume?["poolname"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : poolName;
}
