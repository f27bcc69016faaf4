using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// showPool: registers the current state of an existing libvirt pool (made with virsh or by createPool) in the
/// resource: spec.pool with its state, sizes and the volumes found in it (the pool refreshed first, so files made
/// behind libvirt's back count), and which of them no object of this node accounts for (<c>unregistered</c>, see
/// <see cref="PoolDrift"/>). Changes nothing on the host. The storage resync keeps the view true afterwards.
/// </summary>
public sealed class ShowPoolHandler(LibvirtHost libvirt, StorageInventory? inventory = null) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "showPool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Reading storage pool {context.Name}", Key, context.NodeName, () =>
        {
            var node = context.NodeName;
            PoolOperations.RefuseVendorType(StorageParameters.Optional(context.Parameters, "type"), node);
            using var pool = PoolOperations.Require(libvirt.Connection, context.Name, node);
            var snapshot = PoolSnapshot.Read(pool);
            var unregistered = PoolDrift.Unregistered(context.Name, snapshot.TargetPath, snapshot.Volumes, inventory ?? StorageInventory.Empty);
            var view = PoolDrift.WithRegistration(PoolView.Build(snapshot, PoolLabels.Of(context.Object)), unregistered);
            return Task.FromResult(HandlerResult.Succeeded(view, message:
                $"Storage pool {context.Name} on node {node} is {PoolView.StateName(snapshot.State)} with {snapshot.Volumes.Count} volume(s), " +
                $"{unregistered.Count} of them not registered to any object."));
        });
    }
}
