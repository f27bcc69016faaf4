using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>
/// A libvirt domain (virDomainPtr) obtained from a <see cref="LibvirtConnection"/>. Method names follow the libvirt calls
/// (virDomainCreate → <see cref="Create"/>). Every failure is a <see cref="LibvirtException"/>; e.g. starting a running
/// domain, destroying a stopped one or suspending a paused one give <see cref="LibvirtException.IsOperationInvalid"/>.
/// Dispose it when done (it holds a libvirt reference).
/// </summary>
public sealed unsafe partial class LibvirtDomain : IDisposable
{
    private readonly LibvirtConnection _conn;
    private readonly DomainHandle _handle;

    internal LibvirtDomain(LibvirtConnection conn, DomainHandle handle)
    {
        _conn = conn;
        _handle = handle;
        Name = NativeStrings.Borrowed(LibvirtNative.virDomainGetName(handle)) ?? string.Empty;
        var buf = stackalloc byte[NativeStrings.UuidStringBufLen];
        Uuid = LibvirtNative.virDomainGetUUIDString(handle, buf) == 0 ? Guid.Parse(NativeStrings.ReadUuid(buf)) : Guid.Empty;
    }

    public string Name { get; }
    public Guid Uuid { get; }

    /// <summary>virDomainGetID: the hypervisor id of a running domain, null when it is not running.</summary>
    public uint? GetId()
    {
        var id = LibvirtNative.virDomainGetID(_handle);
        if (id == uint.MaxValue) LibvirtNative.virResetLastError();
        return id == uint.MaxValue ? null : id;
    }

    /// <summary>virDomainIsActive.</summary>
    public bool IsActive() => _conn.Check(LibvirtNative.virDomainIsActive(_handle), "virDomainIsActive") == 1;

    /// <summary>virDomainIsPersistent.</summary>
    public bool IsPersistent() => _conn.Check(LibvirtNative.virDomainIsPersistent(_handle), "virDomainIsPersistent") == 1;

    /// <summary>virDomainCreateWithFlags: starts a defined domain.</summary>
    public void Create(DomainStartFlags flags = DomainStartFlags.None) =>
        _conn.Check(LibvirtNative.virDomainCreateWithFlags(_handle, (uint)flags), "virDomainCreateWithFlags");

    /// <summary>virDomainShutdownFlags: asks the guest to shut down (ACPI power button by default for QEMU). Returns when
    /// the request is delivered; the guest may ignore it. Wait for the Stopped event or poll <see cref="GetState"/>.</summary>
    public void Shutdown(DomainShutdownFlags flags = DomainShutdownFlags.Default) =>
        _conn.Check(LibvirtNative.virDomainShutdownFlags(_handle, (uint)flags), "virDomainShutdownFlags");

    /// <summary>virDomainDestroyFlags: powers the domain off at once (<see cref="DomainDestroyFlags.Graceful"/>: SIGTERM only).</summary>
    public void Destroy(DomainDestroyFlags flags = DomainDestroyFlags.Default) =>
        _conn.Check(LibvirtNative.virDomainDestroyFlags(_handle, (uint)flags), "virDomainDestroyFlags");

    /// <summary>virDomainReboot: asks the guest to reboot (ACPI by default; a guest that ignores ACPI does nothing).</summary>
    public void Reboot(DomainRebootFlags flags = DomainRebootFlags.Default) =>
        _conn.Check(LibvirtNative.virDomainReboot(_handle, (uint)flags), "virDomainReboot");

    /// <summary>virDomainReset: hard reset, like the reset button.</summary>
    public void Reset() => _conn.Check(LibvirtNative.virDomainReset(_handle, 0), "virDomainReset");

    /// <summary>virDomainSuspend.</summary>
    public void Suspend() => _conn.Check(LibvirtNative.virDomainSuspend(_handle), "virDomainSuspend");

    /// <summary>virDomainResume.</summary>
    public void Resume() => _conn.Check(LibvirtNative.virDomainResume(_handle), "virDomainResume");

    /// <summary>virDomainUndefineFlags. A running persistent domain becomes transient (it goes away when it stops).</summary>
    public void Undefine(DomainUndefineFlags flags = DomainUndefineFlags.None) =>
        _conn.Check(LibvirtNative.virDomainUndefineFlags(_handle, (uint)flags), "virDomainUndefineFlags");

    /// <summary>virDomainGetState: the state and its reason.</summary>
    public DomainStateInfo GetState()
    {
        _conn.Check(LibvirtNative.virDomainGetState(_handle, out var state, out var reason, 0), "virDomainGetState");
        return new DomainStateInfo((DomainState)state, reason);
    }

    /// <summary>virDomainGetXMLDesc.</summary>
    public string GetXmlDesc(DomainXmlFlags flags = DomainXmlFlags.None) =>
        _conn.TakeString(LibvirtNative.virDomainGetXMLDesc(_handle, (uint)flags), "virDomainGetXMLDesc");

    /// <summary>virDomainGetInfo.</summary>
    public DomainInfo GetInfo()
    {
        _conn.Check(LibvirtNative.virDomainGetInfo(_handle, out var info), "virDomainGetInfo");
        return new DomainInfo((DomainState)info.State, info.MaxMem.Value, info.Memory.Value, info.NrVirtCpu, info.CpuTime);
    }

    /// <summary>virDomainSetAutostart.</summary>
    public void SetAutostart(bool autostart) =>
        _conn.Check(LibvirtNative.virDomainSetAutostart(_handle, autostart ? 1 : 0), "virDomainSetAutostart");

    /// <summary>virDomainGetAutostart.</summary>
    public bool GetAutostart()
    {
        _conn.Check(LibvirtNative.virDomainGetAutostart(_handle, out var a), "virDomainGetAutostart");
        return a != 0;
    }

    /// <summary>virDomainAttachDeviceFlags.</summary>
    public void AttachDeviceFlags(string deviceXml, DomainModificationFlags flags) =>
        _conn.Check(LibvirtNative.virDomainAttachDeviceFlags(_handle, deviceXml, (uint)flags), "virDomainAttachDeviceFlags");

    /// <summary>virDomainDetachDeviceFlags. For a live detach, the call returns when the guest was asked; the device is
    /// gone when the DEVICE_REMOVED event arrives or the live XML no longer lists it.</summary>
    public void DetachDeviceFlags(string deviceXml, DomainModificationFlags flags) =>
        _conn.Check(LibvirtNative.virDomainDetachDeviceFlags(_handle, deviceXml, (uint)flags), "virDomainDetachDeviceFlags");

    /// <summary>virDomainUpdateDeviceFlags (e.g. change the media of a CD-ROM).</summary>
    public void UpdateDeviceFlags(string deviceXml, DomainModificationFlags flags) =>
        _conn.Check(LibvirtNative.virDomainUpdateDeviceFlags(_handle, deviceXml, (uint)flags), "virDomainUpdateDeviceFlags");

    /// <summary>virDomainSetVcpusFlags. Under TCG never unplug vCPUs live: QEMU wedges (docs/host-lab.md).</summary>
    public void SetVcpusFlags(uint vcpus, DomainVcpuFlags flags) =>
        _conn.Check(LibvirtNative.virDomainSetVcpusFlags(_handle, vcpus, (uint)flags), "virDomainSetVcpusFlags");

    /// <summary>virDomainSetMemoryFlags (KiB).</summary>
    public void SetMemoryFlags(ulong memoryKiB, DomainMemoryFlags flags) =>
        _conn.Check(LibvirtNative.virDomainSetMemoryFlags(_handle, new System.Runtime.InteropServices.CULong((nuint)memoryKiB), (uint)flags),
            "virDomainSetMemoryFlags");

    /// <summary>virDomainSnapshotCreateXML (e.g. <c>&lt;domainsnapshot&gt;&lt;name&gt;s1&lt;/name&gt;&lt;/domainsnapshot&gt;</c>).</summary>
    public LibvirtDomainSnapshot SnapshotCreateXml(string xml, DomainSnapshotCreateFlags flags = DomainSnapshotCreateFlags.None) =>
        new(_conn, _conn.CheckHandle(LibvirtNative.virDomainSnapshotCreateXML(_handle, xml, (uint)flags), "virDomainSnapshotCreateXML"));

    /// <summary>virDomainSnapshotLookupByName (<see cref="LibvirtErrorClassifier.IsNoDomainSnapshot"/> when missing).</summary>
    public LibvirtDomainSnapshot SnapshotLookupByName(string name) =>
        new(_conn, _conn.CheckHandle(LibvirtNative.virDomainSnapshotLookupByName(_handle, name, 0), "virDomainSnapshotLookupByName"));

    public LibvirtDomainSnapshot? TrySnapshotLookupByName(string name)
    {
        try { return SnapshotLookupByName(name); }
        catch (LibvirtException ex) when (ex.Code == VirErrorNumber.NoDomainSnapshot) { return null; }
    }

    /// <summary>virDomainSnapshotCurrent; null when the domain has no current snapshot (virDomainHasCurrentSnapshot).</summary>
    public LibvirtDomainSnapshot? SnapshotCurrent()
    {
        if (_conn.Check(LibvirtNative.virDomainHasCurrentSnapshot(_handle, 0), "virDomainHasCurrentSnapshot") == 0) return null;
        return new(_conn, _conn.CheckHandle(LibvirtNative.virDomainSnapshotCurrent(_handle, 0), "virDomainSnapshotCurrent"));
    }

    /// <summary>virDomainListAllSnapshots. Dispose the returned snapshots.</summary>
    public IReadOnlyList<LibvirtDomainSnapshot> ListAllSnapshots(DomainSnapshotListFlags flags = DomainSnapshotListFlags.All)
    {
        var n = _conn.Check(LibvirtNative.virDomainListAllSnapshots(_handle, out var array, (uint)flags), "virDomainListAllSnapshots");
        var ptrs = NativeStrings.TakePointerArray(array, n);
        var result = new List<LibvirtDomainSnapshot>(n);
        foreach (var p in ptrs) result.Add(new LibvirtDomainSnapshot(_conn, new DomainSnapshotHandle(p)));
        return result;
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"domain {Name} ({Uuid})";
}
