using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// showPool: registers the current state of an existing libvirt pool (made with virsh or by createPool) in the
/// resource: spec.pool with its state, sizes and the volumes found in it. Changes nothing on the host.
/// </summary>
public sealed class ShowPoolHandler(LibvirtHost libvirt) : ILifecycleHandler
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
            var view = PoolView.Build(snapshot, PoolLabels.Of(context.Object));
            return Task.FromResult(HandlerResult.Succeeded(view, message:
                $"Storage pool {context.Name} on node {node} is {PoolView.StateName(snapshot.State)} with {snapshot.Volumes.Count} volume(s)."));
        });
    }
}
