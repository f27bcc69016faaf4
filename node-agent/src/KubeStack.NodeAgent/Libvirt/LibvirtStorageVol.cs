using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>A libvirt storage volume (virStorageVolPtr). Method names follow the libvirt calls. Dispose when done.</summary>
public sealed partial class LibvirtStorageVol : IDisposable
{
    private readonly LibvirtConnection _conn;

    internal LibvirtStorageVol(LibvirtConnection conn, StorageVolHandle handle)
    {
        _conn = conn;
        Handle = handle;
        Name = NativeStrings.Borrowed(LibvirtNative.virStorageVolGetName(handle)) ?? string.Empty;
        Key = NativeStrings.Borrowed(LibvirtNative.virStorageVolGetKey(handle)) ?? string.Empty;
    }

    internal StorageVolHandle Handle { get; }

    public string Name { get; }
    /// <summary>The volume's unique key (for file volumes: the path).</summary>
    public string Key { get; }

    /// <summary>virStorageVolGetPath.</summary>
    public string GetPath() => _conn.TakeString(LibvirtNative.virStorageVolGetPath(Handle), "virStorageVolGetPath");

    /// <summary>virStorageVolGetInfo.</summary>
    public StorageVolInfo GetInfo()
    {
        _conn.Check(LibvirtNative.virStorageVolGetInfo(Handle, out var info), "virStorageVolGetInfo");
        return new StorageVolInfo((StorageVolType)info.Type, info.Capacity, info.Allocation);
    }

    /// <summary>virStorageVolGetXMLDesc.</summary>
    public string GetXmlDesc() => _conn.TakeString(LibvirtNative.virStorageVolGetXMLDesc(Handle, 0), "virStorageVolGetXMLDesc");

    /// <summary>virStorageVolDelete: removes the volume (the file).</summary>
    public void Delete(StorageVolDeleteFlags flags = StorageVolDeleteFlags.Normal) =>
        _conn.Check(LibvirtNative.virStorageVolDelete(Handle, (uint)flags), "virStorageVolDelete");

    /// <summary>virStorageVolResize (bytes; shrinking needs <see cref="StorageVolResizeFlags.Shrink"/>).</summary>
    public void Resize(ulong capacity, StorageVolResizeFlags flags = StorageVolResizeFlags.None) =>
        _conn.Check(LibvirtNative.virStorageVolResize(Handle, capacity, (uint)flags), "virStorageVolResize");

    public void Dispose() => Handle.Dispose();

    public override string ToString() => $"storage volume {Name} ({Key})";
}
