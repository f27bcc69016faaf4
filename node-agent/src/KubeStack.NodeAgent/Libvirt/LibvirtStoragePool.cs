using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>A libvirt storage pool (virStoragePoolPtr). Method names follow the libvirt calls. Dispose when done.</summary>
public sealed unsafe partial class LibvirtStoragePool : IDisposable
{
    private readonly LibvirtConnection _conn;
    private readonly StoragePoolHandle _handle;

    internal LibvirtStoragePool(LibvirtConnection conn, StoragePoolHandle handle)
    {
        _conn = conn;
        _handle = handle;
        Name = NativeStrings.Borrowed(LibvirtNative.virStoragePoolGetName(handle)) ?? string.Empty;
        var buf = stackalloc byte[NativeStrings.UuidStringBufLen];
        Uuid = LibvirtNative.virStoragePoolGetUUIDString(handle, buf) == 0 ? Guid.Parse(NativeStrings.ReadUuid(buf)) : Guid.Empty;
    }

    public string Name { get; }
    public Guid Uuid { get; }

    /// <summary>virStoragePoolBuild: creates the pool's backing (for a dir pool: the target directory).</summary>
    public void Build(StoragePoolBuildFlags flags = StoragePoolBuildFlags.New) =>
        _conn.Check(LibvirtNative.virStoragePoolBuild(_handle, (uint)flags), "virStoragePoolBuild");

    /// <summary>virStoragePoolCreate: starts (activates) a defined pool.</summary>
    public void Create(StoragePoolCreateFlags flags = StoragePoolCreateFlags.Normal) =>
        _conn.Check(LibvirtNative.virStoragePoolCreate(_handle, (uint)flags), "virStoragePoolCreate");

    /// <summary>virStoragePoolDestroy: stops the pool (its data stays).</summary>
    public void Destroy() => _conn.Check(LibvirtNative.virStoragePoolDestroy(_handle), "virStoragePoolDestroy");

    /// <summary>virStoragePoolDelete: removes the pool's backing (for a dir pool: the empty directory); pool must be inactive.</summary>
    public void Delete(StoragePoolDeleteFlags flags = StoragePoolDeleteFlags.Normal) =>
        _conn.Check(LibvirtNative.virStoragePoolDelete(_handle, (uint)flags), "virStoragePoolDelete");

    /// <summary>virStoragePoolUndefine.</summary>
    public void Undefine() => _conn.Check(LibvirtNative.virStoragePoolUndefine(_handle), "virStoragePoolUndefine");

    /// <summary>virStoragePoolSetAutostart.</summary>
    public void SetAutostart(bool autostart) =>
        _conn.Check(LibvirtNative.virStoragePoolSetAutostart(_handle, autostart ? 1 : 0), "virStoragePoolSetAutostart");

    /// <summary>virStoragePoolGetAutostart.</summary>
    public bool GetAutostart()
    {
        _conn.Check(LibvirtNative.virStoragePoolGetAutostart(_handle, out var a), "virStoragePoolGetAutostart");
        return a != 0;
    }

    /// <summary>virStoragePoolRefresh: rescans the pool's volumes (after files changed behind libvirt). libvirt refuses to
    /// rescan while a volume is being built in the pool (<see cref="LibvirtException.IsPoolBusy"/>; a qemu-img run of
    /// milliseconds to a second): that is waited out, up to about 1.5 s, before the refusal is thrown.</summary>
    public void Refresh()
    {
        for (var waitMs = 50; ; waitMs *= 2)
        {
            try
            {
                _conn.Check(LibvirtNative.virStoragePoolRefresh(_handle, 0), "virStoragePoolRefresh");
                return;
            }
            catch (LibvirtException ex) when (ex.IsPoolBusy && waitMs <= 800)
            {
                Thread.Sleep(waitMs);
            }
        }
    }

    /// <summary>virStoragePoolIsActive.</summary>
    public bool IsActive() => _conn.Check(LibvirtNative.virStoragePoolIsActive(_handle), "virStoragePoolIsActive") == 1;

    /// <summary>virStoragePoolIsPersistent.</summary>
    public bool IsPersistent() => _conn.Check(LibvirtNative.virStoragePoolIsPersistent(_handle), "virStoragePoolIsPersistent") == 1;

    /// <summary>virStoragePoolGetInfo.</summary>
    public StoragePoolInfo GetInfo()
    {
        _conn.Check(LibvirtNative.virStoragePoolGetInfo(_handle, out var info), "virStoragePoolGetInfo");
        return new StoragePoolInfo((StoragePoolState)info.State, info.Capacity, info.Allocation, info.Available);
    }

    /// <summary>virStoragePoolGetXMLDesc (flag 1 = VIR_STORAGE_XML_INACTIVE).</summary>
    public string GetXmlDesc(bool inactive = false) =>
        _conn.TakeString(LibvirtNative.virStoragePoolGetXMLDesc(_handle, inactive ? 1u : 0u), "virStoragePoolGetXMLDesc");

    /// <summary>virStorageVolLookupByName (<see cref="LibvirtException.IsNoStorageVol"/> when missing).</summary>
    public LibvirtStorageVol LookupStorageVolByName(string name) =>
        new(_conn, _conn.CheckHandle(LibvirtNative.virStorageVolLookupByName(_handle, name), "virStorageVolLookupByName"));

    public LibvirtStorageVol? TryLookupStorageVolByName(string name)
    {
        try { return LookupStorageVolByName(name); }
        catch (LibvirtException ex) when (ex.IsNoStorageVol) { return null; }
    }

    /// <summary>virStorageVolCreateXML: creates a volume in this pool.</summary>
    public LibvirtStorageVol StorageVolCreateXml(string xml, StorageVolCreateFlags flags = StorageVolCreateFlags.None) =>
        new(_conn, _conn.CheckHandle(LibvirtNative.virStorageVolCreateXML(_handle, xml, (uint)flags), "virStorageVolCreateXML"));

    /// <summary>virStorageVolCreateXMLFrom: creates a volume in this pool as a copy of <paramref name="source"/>.</summary>
    public LibvirtStorageVol StorageVolCreateXmlFrom(string xml, LibvirtStorageVol source, StorageVolCreateFlags flags = StorageVolCreateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(_conn, _conn.CheckHandle(
            LibvirtNative.virStorageVolCreateXMLFrom(_handle, xml, source.Handle, (uint)flags), "virStorageVolCreateXMLFrom"));
    }

    /// <summary>virStoragePoolListAllVolumes. Dispose the returned volumes.</summary>
    public IReadOnlyList<LibvirtStorageVol> ListAllVolumes()
    {
        var n = _conn.Check(LibvirtNative.virStoragePoolListAllVolumes(_handle, out var array, 0), "virStoragePoolListAllVolumes");
        var ptrs = NativeStrings.TakePointerArray(array, n);
        var result = new List<LibvirtStorageVol>(n);
        foreach (var p in ptrs) result.Add(new LibvirtStorageVol(_conn, new StorageVolHandle(p)));
        return result;
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"storage pool {Name} ({Uuid})";
}
