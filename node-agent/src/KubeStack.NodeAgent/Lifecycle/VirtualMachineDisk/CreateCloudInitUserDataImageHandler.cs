using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Runtime;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;

/// <summary>
/// createCloudInitUserDataImage: a cloud-init NoCloud seed — an ISO 9660 image with volume id <c>cidata</c> holding
/// <c>user-data</c> (the <c>userData</c> parameter, which must parse as YAML) and <c>meta-data</c> (instance-id and
/// local-hostname = the object's name) — named like the object in <c>pool</c>, built with xorriso under a temporary
/// name and renamed. An existing volume of that name is an error on a first attempt and success on a resumed one.
/// </summary>
public sealed class CreateCloudInitUserDataImageHandler(LibvirtHost libvirt, QemuImg qemuImg) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachineDisk;
    public string Key => "createCloudInitUserDataImage";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating cloud-init seed {context.Name}", Key, context.NodeName, () => CreateAsync(context, cancellationToken));
    }

    private async Task<HandlerResult> CreateAsync(RequestContext context, CancellationToken ct)
    {
        var node = context.NodeName;
        var poolName = StorageParameters.Required(context.Parameters, "pool", Key);
        var userData = StorageParameters.Required(context.Parameters, "userData", Key);
        try
        {
            new YamlStream().Load(new StringReader(userData));
        }
        catch (YamlException ex)
        {
            throw new RequestParameterException("userData", $"{Key}.userData must be YAML (cloud-init syntax); it does not parse at line {ex.Start.Line}.");
        }

        var connection = libvirt.Connection;
        var place = new DiskPlace(context.Name, poolName, poolName, "localfs");
        if (DiskImageSteps.ExistingVolumePath(connection, poolName, context.Name, node) is { } existing)
        {
            if (context.Attempt > 1 && DiskImageSteps.IsIso9660(existing))
            {
                return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, await qemuImg.InfoAsync(existing, cancellationToken: ct).ConfigureAwait(false), place),
                    message: $"Cloud-init seed {context.Name} already exists in pool {poolName} on node {node} ({existing}).");
            }

            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"A volume named {context.Name} already exists in pool {poolName} on node {node} ({existing}); choose another name. Nothing was changed.");
        }

        var dir = DiskImageSteps.PoolDirectory(connection, poolName, node);
        var finalPath = DiskOperations.PathIn(dir, context.Name, poolName, node);
        var partPath = DiskOperations.PathIn(dir, CloneDiskHandler.TemporaryName(context.Name), poolName, node);
        var staging = Directory.CreateTempSubdirectory("kubestack-seed-");
        try
        {
            var userDataText = userData.EndsWith('\n') ? userData : userData + "\n";
            await File.WriteAllTextAsync(Path.Combine(staging.FullName, "user-data"), userDataText, ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(staging.FullName, "meta-data"),
                $"instance-id: {context.Name}\nlocal-hostname: {context.Name}\n", ct).ConfigureAwait(false);
            File.Delete(partPath);
            await IsoTool.Default.CreateAsync(partPath, "cidata", staging.FullName, ct).ConfigureAwait(false);
            File.Move(partPath, finalPath, overwrite: false);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }
        finally
        {
            staging.Delete(recursive: true);
        }

        using (DiskOperations.RequireActivePool(connection, poolName, node))
        {
            // Refreshed: libvirt now lists the seed.
        }

        var info = await qemuImg.InfoAsync(finalPath, cancellationToken: ct).ConfigureAwait(false);
        return HandlerResult.Succeeded(DiskVolumeSteps.View(connection, info, place),
            message: $"Cloud-init NoCloud seed {context.Name} (ISO 9660, volume id cidata) was created in pool {poolName} on node {node} at {finalPath}.");
    }
}
