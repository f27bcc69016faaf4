using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>A domain snapshot (virDomainSnapshotPtr). Method names follow the libvirt calls. Dispose when done.</summary>
public sealed partial class LibvirtDomainSnapshot : IDisposable
{
    private readonly LibvirtConnection _conn;
    private readonly DomainSnapshotHandle _handle;

    internal LibvirtDomainSnapshot(LibvirtConnection conn, DomainSnapshotHandle handle)
    {
        _conn = conn;
        _handle = handle;
        Name = NativeStrings.Borrowed(LibvirtNative.virDomainSnapshotGetName(handle)) ?? string.Empty;
    }

    public string Name { get; }

    /// <summary>virDomainSnapshotGetXMLDesc (flag 1 = VIR_DOMAIN_XML_SECURE).</summary>
    public string GetXmlDesc(bool secure = false) =>
        _conn.TakeString(LibvirtNative.virDomainSnapshotGetXMLDesc(_handle, secure ? 1u : 0u), "virDomainSnapshotGetXMLDesc");

    /// <summary>virDomainSnapshotIsCurrent.</summary>
    public bool IsCurrent() => _conn.Check(LibvirtNative.virDomainSnapshotIsCurrent(_handle, 0), "virDomainSnapshotIsCurrent") == 1;

    /// <summary>virDomainSnapshotGetParent; null for a root snapshot.</summary>
    public LibvirtDomainSnapshot? GetParent()
    {
        var h = LibvirtNative.virDomainSnapshotGetParent(_handle, 0);
        if (!h.IsInvalid) return new LibvirtDomainSnapshot(_conn, h);
        var ex = _conn.Fail("virDomainSnapshotGetParent");
        h.Dispose();
        return ex.Code == VirErrorNumber.NoDomainSnapshot ? null : throw ex;
    }

    /// <summary>virDomainRevertToSnapshot.</summary>
    public void RevertToSnapshot(DomainSnapshotRevertFlags flags = DomainSnapshotRevertFlags.None) =>
        _conn.Check(LibvirtNative.virDomainRevertToSnapshot(_handle, (uint)flags), "virDomainRevertToSnapshot");

    /// <summary>virDomainSnapshotDelete.</summary>
    public void Delete(DomainSnapshotDeleteFlags flags = DomainSnapshotDeleteFlags.None) =>
        _conn.Check(LibvirtNative.virDomainSnapshotDelete(_handle, (uint)flags), "virDomainSnapshotDelete");

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"domain snapshot {Name}";
}
