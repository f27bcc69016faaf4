using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>A libvirt virtual network (virNetworkPtr). Method names follow the libvirt calls. Dispose when done.</summary>
public sealed unsafe class LibvirtNetwork : IDisposable
{
    private readonly LibvirtConnection _conn;
    private readonly NetworkHandle _handle;

    internal LibvirtNetwork(LibvirtConnection conn, NetworkHandle handle)
    {
        _conn = conn;
        _handle = handle;
        Name = NativeStrings.Borrowed(LibvirtNative.virNetworkGetName(handle)) ?? string.Empty;
        var buf = stackalloc byte[NativeStrings.UuidStringBufLen];
        Uuid = LibvirtNative.virNetworkGetUUIDString(handle, buf) == 0 ? Guid.Parse(NativeStrings.ReadUuid(buf)) : Guid.Empty;
    }

    public string Name { get; }
    public Guid Uuid { get; }

    /// <summary>virNetworkCreate: starts a defined network.</summary>
    public void Create() => _conn.Check(LibvirtNative.virNetworkCreate(_handle), "virNetworkCreate");

    /// <summary>virNetworkDestroy: stops the network.</summary>
    public void Destroy() => _conn.Check(LibvirtNative.virNetworkDestroy(_handle), "virNetworkDestroy");

    /// <summary>virNetworkUndefine.</summary>
    public void Undefine() => _conn.Check(LibvirtNative.virNetworkUndefine(_handle), "virNetworkUndefine");

    /// <summary>virNetworkIsActive.</summary>
    public bool IsActive() => _conn.Check(LibvirtNative.virNetworkIsActive(_handle), "virNetworkIsActive") == 1;

    /// <summary>virNetworkSetAutostart.</summary>
    public void SetAutostart(bool autostart) =>
        _conn.Check(LibvirtNative.virNetworkSetAutostart(_handle, autostart ? 1 : 0), "virNetworkSetAutostart");

    /// <summary>virNetworkGetAutostart.</summary>
    public bool GetAutostart()
    {
        _conn.Check(LibvirtNative.virNetworkGetAutostart(_handle, out var a), "virNetworkGetAutostart");
        return a != 0;
    }

    /// <summary>virNetworkGetXMLDesc (flag 1 = VIR_NETWORK_XML_INACTIVE).</summary>
    public string GetXmlDesc(bool inactive = false) =>
        _conn.TakeString(LibvirtNative.virNetworkGetXMLDesc(_handle, inactive ? 1u : 0u), "virNetworkGetXMLDesc");

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"network {Name} ({Uuid})";
}
