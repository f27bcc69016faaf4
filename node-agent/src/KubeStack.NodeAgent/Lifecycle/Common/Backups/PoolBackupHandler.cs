using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>
/// The shape of a VirtualMachinePool operation on VM <c>domain</c>'s backups in pool <c>pool</c>: both names are read and
/// checked first, failures are classed as storage failures ("<paramref name="doing"/> failed ..."), and the result view
/// is this pool's. Subclasses (one per operation) read their other parameters and return the result message.
/// </summary>
public abstract class PoolBackupHandler(LibvirtHost libvirt, QemuImg qemuImg, ICrashInjector crash, string key, string doing) : ILifecycleHandler
{
    protected BackupVmSteps Steps { get; } = new(libvirt, qemuImg, crash);

    public string Kind => Kinds.VirtualMachinePool;

    public string Key => key;

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync(doing, key, context.NodeName, async () =>
        {
            var domain = BackupNames.Parameter(context.Parameters, "domain", key);
            var pool = BackupNames.Parameter(context.Parameters, "pool", key);
            var message = await RunAsync(new PoolBackupRequest(domain, pool, context), cancellationToken).ConfigureAwait(false);
            return HandlerResult.Succeeded(Steps.PoolViewOf(context), message: message);
        });
    }

    /// <summary>The operation itself; returns the result message.</summary>
    protected abstract Task<string> RunAsync(PoolBackupRequest request, CancellationToken cancellationToken);

    /// <summary>The backup area of the request's pool.</summary>
    protected BackupLayout Layout(PoolBackupRequest request) =>
        BackupSources.Layout(libvirt.Connection, request.Pool, key, request.Context.NodeName);

    /// <summary>The VM backups and every disk's (<paramref name="vol"/> null), or only disk <paramref name="vol"/>'s.</summary>
    protected IReadOnlyList<BackupStore> Stores(PoolBackupRequest request, string? vol)
    {
        var layout = Layout(request);
        return vol is null ? [new BackupStore(layout, request.Domain, null), .. BackupStore.DiskStores(layout, request.Domain)] : [new BackupStore(layout, request.Domain, vol)];
    }
}

/// <summary>A pool backup request: the VM whose backups are meant, the pool holding them, and the request.</summary>
public sealed record PoolBackupRequest(string Domain, string Pool, RequestContext Context)
{
    public System.Text.Json.Nodes.JsonObject Parameters => Context.Parameters;
}
