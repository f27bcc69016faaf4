using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>Reads spec.domain and the power state of a VM from its live domain (null when the domain does not exist).</summary>
public sealed class VirtualMachineStateReader(VmHost host) : IObservedStateReader
{
    public string Kind => Kinds.VirtualMachine;

    public Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        using var domain = host.TryLookup(obj.Metadata.Name);
        return Task.FromResult(domain is null ? null : VmHost.Observe(domain));
    }
}
