using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>
/// createPool: defines the libvirt pool named after the resource (the type's driver makes the definition), builds its
/// directory when missing, starts it and sets autostart as asked. Probes first: a pool of that name with the same type
/// and target is taken as it is (a resumed or repeated request converges); one with another type or target is an
/// error. A failure undefines a pool this attempt defined and removes a directory it made.
/// </summary>
public sealed class CreatePoolHandler(LibvirtHost libvirt, PoolDriverRegistry drivers) : ILifecycleHandler
{
    public string Kind => Kinds.VirtualMachinePool;
    public string Key => "createPool";

    public Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return StorageFailures.GuardAsync($"Creating storage pool {context.Name}", Key, context.NodeName, () => Task.FromResult(Create(context)));
    }

    private HandlerResult Create(RequestContext context)
    {
        var p = context.Parameters;
        var node = context.NodeName;
        var request = new PoolRequest(
            context.Name,
            StorageParameters.Required(p, "type", Key),
            StorageParameters.Required(p, "content", Key),
            StorageParameters.Required(p, "url", Key),
            StorageParameters.Optional(p, "opt"),
            StorageParameters.Optional(p, "uuid") ?? context.Name);
        var autostart = StorageParameters.Flag(p, "autostart", Key) ?? false;
        PoolDefinition definition;
        try
        {
            definition = drivers.For(request.Type, node).Define(request, node);
        }
        catch (UnsafePathException ex)
        {
            return StorageFailures.UnsafePath(ex, "url", Key, node);
        }

        var connection = libvirt.Connection;
        var pool = connection.TryLookupStoragePoolByName(request.Name);
        var definedHere = false;
        var madeDirectory = false;
        try
        {
            if (pool is not null)
            {
                var existing = PoolSnapshot.Read(pool, refresh: false);
                if (existing.LibvirtType != definition.LibvirtType || existing.TargetPath != definition.TargetPath)
                {
                    throw new StorageRefusedException(ErrorClasses.LibvirtError,
                        $"A storage pool named {request.Name} already exists on node {node} as a {existing.LibvirtType} pool at {existing.TargetPath}, " +
                        $"not a {definition.LibvirtType} pool at {definition.TargetPath}; delete it or choose another name.");
                }
            }
            else
            {
                pool = connection.StoragePoolDefineXml(definition.Xml);
                definedHere = true;
            }

            if (!pool.IsActive())
            {
                if (!Directory.Exists(definition.TargetPath))
                {
                    pool.Build();
                    madeDirectory = true;
                }

                pool.Create();
            }

            if (pool.GetAutostart() != autostart)
            {
                pool.SetAutostart(autostart);
            }

            var view = PoolView.Build(PoolSnapshot.Read(pool), new PoolLabels(request.Type, request.Content, request.PoolName, request.Url));
            return HandlerResult.Succeeded(view, message:
                $"Storage pool {request.Name} ({request.Type}) is running at {definition.TargetPath} on node {node}" +
                (definedHere ? "." : "; it existed already with this definition."));
        }
        catch when (definedHere && pool is not null)
        {
            Undo(pool, madeDirectory);
            throw;
        }
        finally
        {
            pool?.Dispose();
        }
    }

    /// <summary>Removes what this attempt made: the pool definition, and the directory when it built it (empty).</summary>
    private static void Undo(LibvirtStoragePool pool, bool madeDirectory)
    {
        try
        {
            if (pool.IsActive())
            {
                pool.Destroy();
            }

            if (madeDirectory)
            {
                pool.Delete();
            }

            pool.Undefine();
        }
        catch (LibvirtException)
        {
            // The original failure is what the user must see; a leftover definition is found by the next attempt.
        }
    }
}
