using KubeStack.Contracts.Formats;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// createAndStartVMFromISO / createAndStartVMFromImage: parse the seed's parameters, build the domain XML (pure
/// builder), check every file it uses (under the allowed roots after resolving links, and existing), then define and
/// start the domain. Nothing is defined when a check fails; a domain this attempt defined is undefined again when it
/// cannot start. A resumed attempt (crash after the host call) finds its own domain (same name and UUID) and only
/// makes sure it runs, so the request ends with exactly one domain.
/// </summary>
internal static class VmCreate
{
    public static async Task<HandlerResult> RunAsync(RequestContext ctx, VmHost host, VmCreateKind kind, OvnVmPorts? ovn = null)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(host);
        DomainBuildResult built;
        try
        {
            var parameters = VmCreateParameters.Parse(ctx.Parameters, kind);
            var uid = Guid.TryParse(ctx.Object.Metadata.Uid, out var parsed) ? parsed : (Guid?)null;
            built = DomainXmlBuilder.Build(ctx.Name, parameters, host.NodeSettings, uid);
        }
        catch (DomainBuildException ex)
        {
            return Done(HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{ctx.Key} of VM {ctx.Name} was refused before anything was created: {string.Join(" ", ex.Problems)}"));
        }

        if (CheckFiles(ctx, built) is { } refused)
        {
            return Done(refused);
        }

        LibvirtDomain? domain = null;
        IReadOnlyList<string> ovnPorts = [];
        try
        {
            domain = host.TryLookup(ctx.Name);
            if (domain is null || domain.Uuid == built.Uuid)
            {
                // l3bridge NICs: their OVN logical ports exist before the domain starts (ovn-controller binds them then)
                ovnPorts = await (ovn ?? new OvnVmPorts()).EnsureNicPortsAsync(ctx.Name, built.Nics).ConfigureAwait(false);
            }

            if (domain is not null)
            {
                if (domain.Uuid != built.Uuid || !VmPowerOperation.IsResumed(ctx))
                {
                    return Done(HandlerResult.Failed(ErrorClasses.LibvirtError,
                        $"{ctx.Key} refused: a domain named {ctx.Name} already exists on node {ctx.NodeName} (UUID {domain.Uuid}). " +
                        "Delete it first, or use another name."));
                }

                // Resumed attempt: the domain is ours (same UUID); only make sure it runs.
                if (!domain.IsActive())
                {
                    domain.Create();
                }

                return Done(VmHost.Succeeded(domain, $"VM {ctx.Name} runs on node {ctx.NodeName} (created by an earlier attempt of this request)."));
            }

            domain = host.Connection.DefineXml(built.Xml);
            try
            {
                domain.Create();
            }
            catch (LibvirtException)
            {
                UndefineQuietly(domain);
                await RemovePortsQuietlyAsync(ovn ?? new OvnVmPorts(), ovnPorts).ConfigureAwait(false);
                throw;
            }

            var source = kind == VmCreateKind.FromIso ? "installed from its ISO" : "created from its disk image";
            return Done(VmHost.Succeeded(domain, $"VM {ctx.Name} was {source} and started on node {ctx.NodeName}."));
        }
        catch (LibvirtException ex)
        {
            return Done(VmHost.LibvirtFailed(ex, "Creating", ctx));
        }
        catch (NetworkRefusedException ex)
        {
            return Done(HandlerResult.Failed(ex.ErrorClass, $"{ctx.Key} of VM {ctx.Name} was refused before the domain was defined: {ex.Message}"));
        }
        catch (HostToolException ex)
        {
            return Done(HandlerResult.Failed(ex.IsToolMissing ? ErrorClasses.VirtctlError : ErrorClasses.Exception,
                $"{ctx.Key} of VM {ctx.Name} could not make the OVN port of its l3bridge NIC on node {ctx.NodeName}: {ex.Message}; the domain was not defined."));
        }
        finally
        {
            domain?.Dispose();
        }
    }

    /// <summary>Every file of the domain must lie under the allowed roots (links resolved) and exist.</summary>
    private static HandlerResult? CheckFiles(RequestContext ctx, DomainBuildResult built)
    {
        foreach (var disk in built.Disks)
        {
            var what = disk.Device == DiskDevice.Cdrom ? "ISO file" : "disk";
            var resolved = SafePath.TryResolve(disk.Path);
            if (!resolved.IsSafe)
            {
                return HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"{ctx.Key} of VM {ctx.Name} was refused before anything was created: the {what} path '{disk.Path}' {resolved.Error}.");
            }

            if (!File.Exists(resolved.FullPath))
            {
                var hint = disk.Device == DiskDevice.Cdrom
                    ? "copy the ISO to the node first"
                    : "create it first (createDisk, or a disk image file)";
                return HandlerResult.Failed(ErrorClasses.VirtctlError,
                    $"{ctx.Key} of VM {ctx.Name} was refused before anything was created: the {what} '{disk.Path}' does not exist on node {ctx.NodeName}; {hint}.");
            }
        }

        return null;
    }

    private static void UndefineQuietly(LibvirtDomain domain)
    {
        try
        {
            domain.Undefine(DomainUndefineFlags.ManagedSave | DomainUndefineFlags.SnapshotsMetadata);
        }
        catch (LibvirtException)
        {
            // Best effort: the start failure is what the request reports.
        }
    }

    private static HandlerResult Done(HandlerResult result) => result;

    private static async Task RemovePortsQuietlyAsync(OvnVmPorts ovn, IReadOnlyList<string> ports)
    {
        foreach (var port in ports)
        {
            try
            {
                await ovn.RemovePortAsync(port).ConfigureAwait(false);
            }
            catch (HostToolException)
            {
                // Best effort: the start failure is what the request reports.
            }
        }
    }
}
