using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// The frame of the power operations: look the domain up (missing → VirtletError), read its state, let the operation
/// decide and act, map libvirt's refusals to LibvirtError. Effects are synchronous libvirt calls; nothing blocks a
/// worker for long (stopVM polls with RequeueAfter).
/// </summary>
internal static class VmPowerOperation
{
    public static Task<HandlerResult> RunAsync(RequestContext ctx, VmHost host, string verb,
        Func<LibvirtDomain, DomainState, HandlerResult> operate)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            using var domain = host.TryLookup(ctx.Name);
            if (domain is null)
            {
                return Task.FromResult(VmHost.DomainMissing(ctx));
            }

            return Task.FromResult(operate(domain, domain.GetState().State));
        }
        catch (LibvirtException ex)
        {
            return Task.FromResult(VmHost.LibvirtFailed(ex, verb, ctx));
        }
    }

    /// <summary>A resumed attempt (crash after the effect, before the record) finds the effect done: success, once.</summary>
    public static bool IsResumed(RequestContext ctx) => ctx.Attempt > 1;
}
