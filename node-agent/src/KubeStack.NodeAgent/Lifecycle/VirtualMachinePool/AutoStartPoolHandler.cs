using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// autoStartPool: sets whether libvirt starts the pool when the host boots. <c>disable: true</c> turns autostart off
/// and <c>disable: false</c> on, as <c>virsh pool-autostart [--disable]</c> does. Setting the value it has already
/// is success.
/// </summary>
public sealed class AutoStartPoolHandler(LibvirtHost libvirt) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "autoStartPool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Changing autostart of storage pool {context.Name}", Key, context.NodeName, () =>
        {
            var node = context.NodeName;
            PoolOperations.RefuseVendorType(StorageParameters.Optional(context.Parameters, "type"), node);
            var disable = StorageParameters.Flag(context.Parameters, "disable", Key)
                ?? throw new RequestParameterException("disable", $"{Key}.disable is required and missing.");
            using var pool = PoolOperations.Require(libvirt.Connection, context.Name, node);
            if (pool.GetAutostart() == disable)
            {
                pool.SetAutostart(!disable);
            }

            var view = PoolView.Build(PoolSnapshot.Read(pool), PoolLabels.Of(context.Object));
            return Task.FromResult(HandlerResult.Succeeded(view, message:
                $"Storage pool {context.Name} {(disable ? "no longer starts" : "now starts")} when node {node} boots."));
        });
    }
}
