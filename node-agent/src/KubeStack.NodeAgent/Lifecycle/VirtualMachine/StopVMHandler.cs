using System.Collections.Concurrent;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// stopVM: ACPI shutdown (the guest's power button), then polls with RequeueAfter — no worker is blocked — until
/// the domain is shut off or <c>AgentOptions.VmStopTimeout</c> has passed. A guest that ignores the request makes the
/// request fail (class Exception) with a message saying the VM is still running: never a fake success.
/// Stopping a VM that is already off is an error, as in the seed, except when this request itself stopped it (a
/// poll, or a resumed attempt after a crash). A suspended VM cannot react to ACPI: refused, use resumeVM or stopVMForce.
/// </summary>
public sealed class StopVMHandler(VmHost host, TimeProvider time) : ILifecycleHandler
{
    /// <summary>Poll interval while waiting for the guest to power off.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Submissions (uid/generation) whose ACPI request this process sent, with their deadline.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _waiting = new(StringComparer.Ordinal);

    public string Kind => Kinds.VirtualMachine;
    public string Key => "stopVM";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var submission = $"{context.Object.Metadata.Uid}/{context.Object.Metadata.Generation}";
        return VmPowerOperation.RunAsync(context, host, "Stopping", (domain, state) =>
        {
            var waiting = _waiting.TryGetValue(submission, out var deadline);
            if (state is DomainState.Shutoff or DomainState.Crashed)
            {
                _waiting.TryRemove(submission, out _);
                return waiting || VmPowerOperation.IsResumed(context)
                    ? VmHost.Succeeded(domain, $"VM {context.Name} was shut down (ACPI) on node {context.NodeName}.")
                    : VmHost.WrongState(context, state, "it is already shut down.");
            }

            if (state == DomainState.Paused)
            {
                _waiting.TryRemove(submission, out _);
                return VmHost.WrongState(context, state, "a suspended guest cannot react to the ACPI shutdown: resume it first, or use stopVMForce.");
            }

            var now = time.GetUtcNow();
            if (!waiting)
            {
                domain.Shutdown(DomainShutdownFlags.AcpiPowerButton);
                _waiting[submission] = now + host.Options.VmStopTimeout;
                return HandlerResult.RequeueAfter(PollInterval, $"ACPI shutdown sent to VM {context.Name}; waiting for the guest to power off.");
            }

            if (now < deadline)
            {
                return HandlerResult.RequeueAfter(PollInterval, $"Waiting for the guest of VM {context.Name} to power off.");
            }

            _waiting.TryRemove(submission, out _);
            return HandlerResult.Failed(ErrorClasses.Exception,
                $"VM {context.Name} on node {context.NodeName} did not power off within {host.Options.VmStopTimeout.TotalSeconds:0} s of the ACPI " +
                $"shutdown request; it is still {PowerStates.Of(state)}. The guest may ignore ACPI (no acpid, or it is hung): use stopVMForce.");
        });
    }
}
