using System.Globalization;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>Steps shared by the pool handlers, the pool cleanup and the pool reader (docs/storage.md).</summary>
public static class PoolOperations
{
    /// <summary>At most this many volume names are quoted in a refusal message.</summary>
    private const int MaxNamesInMessage = 10;

    /// <summary>The libvirt pool named <paramref name="name"/>, or a refusal naming the node when it is not defined.</summary>
    public static LibvirtStoragePool Require(LibvirtConnection connection, string name, string node)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.TryLookupStoragePoolByName(name) ?? throw new StorageRefusedException(ErrorClasses.LibvirtError,
            $"Storage pool {name} does not exist on node {node}; create it first (createPool on VirtualMachinePool {name}) or name an existing pool.");
    }

    /// <summary>A type parameter of a vendor pool type (uus, vdiskfs) is refused: the vendor CLI is missing.</summary>
    public static void RefuseVendorType(string? type, string node)
    {
        if (type is "uus" or "vdiskfs")
        {
            throw VendorPoolDriver.Unsupported(type, node);
        }
    }

    /// <summary>
    /// Deletes a pool (deletePool and kubectl delete): refused while it holds volumes; otherwise stopped, its directory
    /// removed when it is empty (never recursively), and undefined. Returns the sentence that tells what happened.
    /// </summary>
    public static string Delete(LibvirtStoragePool pool, string node)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var snapshot = PoolSnapshot.Read(pool);
        var held = snapshot.Active ? snapshot.Volumes : EntriesOf(snapshot.TargetPath);
        if (held.Count > 0)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"Storage pool {pool.Name} on node {node} still holds {held.Count} volume(s): {Quote(held)}. " +
                "Delete those disks first (deleteDisk or kubectl delete of their VirtualMachineDisk), then delete the pool again.");
        }

        if (snapshot.Active)
        {
            pool.Destroy();
        }

        if (!snapshot.Persistent)
        {
            return $"Storage pool {pool.Name} was transient: stopping it removed it from node {node}; its directory {snapshot.TargetPath} was kept.";
        }

        string directory;
        try
        {
            pool.Delete();
            directory = $"its empty directory {snapshot.TargetPath} was removed";
        }
        catch (LibvirtException ex) when (!ex.IsConnectionFailure)
        {
            directory = $"its directory {snapshot.TargetPath} was kept ({ex.LibvirtMessage})";
        }

        pool.Undefine();
        return $"Storage pool {pool.Name} was stopped and undefined on node {node}; {directory}.";
    }

    /// <summary>Names in a directory (an inactive pool's volumes as files), or none when it does not exist.</summary>
    private static IReadOnlyList<string> EntriesOf(string? directory) =>
        directory is not null && Directory.Exists(directory)
            ? Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    internal static string Quote(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(MaxNamesInMessage))
        + (names.Count > MaxNamesInMessage ? string.Create(CultureInfo.InvariantCulture, $" and {names.Count - MaxNamesInMessage} more") : string.Empty);
}
