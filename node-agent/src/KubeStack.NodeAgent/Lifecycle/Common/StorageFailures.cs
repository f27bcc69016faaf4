using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// How the storage handlers (pools, disks) turn what went wrong into the seed's error classes (docs/storage.md):
/// libvirt refused → <c>LibvirtError</c> (retryable when the connection or a busy resource is the cause);
/// a request the agent cannot serve here (a path outside the allowed roots, a parameter the agent cannot use,
/// a pool type whose vendor CLI is missing) → <c>VirtctlError</c>; a host tool that failed → <c>Exception</c>.
/// </summary>
public static class StorageFailures
{
    public static HandlerResult Libvirt(LibvirtException ex, string what, string node)
    {
        ArgumentNullException.ThrowIfNull(ex);
        // Whether it is retried, and how often it was tried when it finally fails, the runtime says (RequestProcessor).
        return HandlerResult.Failed(ErrorClasses.LibvirtError,
            $"{what} failed on node {node}: libvirt says: {ex.LibvirtMessage} ({ex.Function}, error {ex.Code}).", ex.IsRetryable);
    }

    public static HandlerResult UnsafePath(UnsafePathException ex, string parameter, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return HandlerResult.Failed(ErrorClasses.VirtctlError,
            $"{operation}.{parameter} is refused on node {node}: the path '{ex.Path}' {ex.Reason}. Nothing was created; " +
            "use a path inside the allowed directories.");
    }

    public static HandlerResult Parameter(RequestParameterException ex, string node)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return HandlerResult.Failed(ErrorClasses.VirtctlError, $"{ex.Message} The request was refused on node {node}; nothing was changed.");
    }

    public static HandlerResult Tool(HostToolException ex, string what, string node)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return HandlerResult.Failed(ErrorClasses.Exception, $"{what} failed on node {node}: {ex.Message}");
    }

    /// <summary>Runs <paramref name="action"/>, mapping the exceptions above to failures.</summary>
    public static async Task<HandlerResult> GuardAsync(string what, string operation, string node, Func<Task<HandlerResult>> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (LibvirtException ex)
        {
            return Libvirt(ex, what, node);
        }
        catch (RequestParameterException ex)
        {
            return Parameter(ex, node);
        }
        catch (UnsafePathException ex)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{operation} is refused on node {node}: the path '{ex.Path}' {ex.Reason}. Nothing was created; use a path inside the allowed directories.");
        }
        catch (HostToolException ex)
        {
            return Tool(ex, what, node);
        }
        catch (StorageRefusedException ex)
        {
            return HandlerResult.Failed(ex.ErrorClass, ex.Message, ex.Retryable);
        }
    }
}

/// <summary>A storage handler refuses the request with a given error class and a full-sentence message.</summary>
public sealed class StorageRefusedException(string errorClass, string message, bool retryable = false) : Exception(message)
{
    public string ErrorClass { get; } = errorClass;
    public bool Retryable { get; } = retryable;
}
