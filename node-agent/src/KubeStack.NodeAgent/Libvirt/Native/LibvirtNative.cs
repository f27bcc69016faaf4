using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>
/// The libvirt C API as used by KubeStack (libvirt.so.0, libvirt ≥ 9.0). This folder is the only place that sees raw
/// pointers: returned objects come back as <see cref="SafeHandle"/> subclasses, returned strings as <see cref="IntPtr"/>
/// that <see cref="NativeStrings"/> copies and frees. Signatures follow the C headers exactly (unsigned int flags → uint,
/// unsigned long → <see cref="CULong"/>).
/// </summary>
internal static unsafe partial class LibvirtNative
{
    internal const string Library = "libvirt.so.0";

    // ---------------------------------------------------------------- library, errors, event loop
    [LibraryImport(Library)] internal static partial int virInitialize();
    [LibraryImport(Library)] internal static partial int virGetVersion(out CULong libVer, IntPtr type, IntPtr typeVer);
    [LibraryImport(Library)] internal static partial VirErrorNative* virGetLastError();
    [LibraryImport(Library)] internal static partial void virResetLastError();
    [LibraryImport(Library)] internal static partial void virSetErrorFunc(IntPtr userData, IntPtr handler);
    [LibraryImport(Library)] internal static partial int virEventRegisterDefaultImpl();
    [LibraryImport(Library)] internal static partial int virEventRunDefaultImpl();
    [LibraryImport(Library)] internal static partial int virEventAddTimeout(int timeout, IntPtr cb, IntPtr opaque, IntPtr ff);
    [LibraryImport(Library)] internal static partial int virEventRemoveTimeout(int timer);
    [LibraryImport(Library)] internal static partial void virEventUpdateTimeout(int timer, int timeout);

    // ---------------------------------------------------------------- connection
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ConnectHandle virConnectOpen(string? name);
    [LibraryImport(Library)] internal static partial int virConnectClose(IntPtr conn);
    [LibraryImport(Library)] internal static partial int virConnectIsAlive(ConnectHandle conn);
    [LibraryImport(Library)] internal static partial int virConnectSetKeepAlive(ConnectHandle conn, int interval, uint count);
    [LibraryImport(Library)] internal static partial IntPtr virConnectGetURI(ConnectHandle conn);
    [LibraryImport(Library)] internal static partial int virConnectGetLibVersion(ConnectHandle conn, out CULong libVer);
    [LibraryImport(Library)] internal static partial int virConnectGetVersion(ConnectHandle conn, out CULong hvVer);
    [LibraryImport(Library)] internal static partial int virConnectRegisterCloseCallback(ConnectHandle conn, IntPtr cb, IntPtr opaque, IntPtr freecb);
    [LibraryImport(Library)] internal static partial int virConnectUnregisterCloseCallback(ConnectHandle conn, IntPtr cb);
    [LibraryImport(Library)] internal static partial int virConnectDomainEventRegisterAny(ConnectHandle conn, IntPtr dom, int eventId, IntPtr cb, IntPtr opaque, IntPtr freecb);
    [LibraryImport(Library)] internal static partial int virConnectDomainEventDeregisterAny(ConnectHandle conn, int callbackId);

    // ---------------------------------------------------------------- domains
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainLookupByName(ConnectHandle conn, string name);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainLookupByUUIDString(ConnectHandle conn, string uuid);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainDefineXMLFlags(ConnectHandle conn, string xml, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainCreateXML(ConnectHandle conn, string xml, uint flags);
    [LibraryImport(Library)] internal static partial int virConnectListAllDomains(ConnectHandle conn, out IntPtr domains, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainFree(IntPtr dom);
    [LibraryImport(Library)] internal static partial IntPtr virDomainGetName(DomainHandle dom);
    [LibraryImport(Library)] internal static partial IntPtr virDomainGetName(IntPtr dom);
    [LibraryImport(Library)] internal static partial int virDomainGetUUIDString(DomainHandle dom, byte* buf);
    [LibraryImport(Library)] internal static partial int virDomainGetUUIDString(IntPtr dom, byte* buf);
    [LibraryImport(Library)] internal static partial uint virDomainGetID(DomainHandle dom);
    [LibraryImport(Library)] internal static partial int virDomainIsActive(DomainHandle dom);
    [LibraryImport(Library)] internal static partial int virDomainIsPersistent(DomainHandle dom);
    [LibraryImport(Library)] internal static partial int virDomainCreateWithFlags(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainShutdownFlags(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainDestroyFlags(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainReboot(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainReset(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSuspend(DomainHandle dom);
    [LibraryImport(Library)] internal static partial int virDomainResume(DomainHandle dom);
    [LibraryImport(Library)] internal static partial int virDomainUndefineFlags(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainGetState(DomainHandle dom, out int state, out int reason, uint flags);
    [LibraryImport(Library)] internal static partial IntPtr virDomainGetXMLDesc(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainGetInfo(DomainHandle dom, out VirDomainInfoNative info);
    [LibraryImport(Library)] internal static partial int virDomainSetAutostart(DomainHandle dom, int autostart);
    [LibraryImport(Library)] internal static partial int virDomainGetAutostart(DomainHandle dom, out int autostart);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainAttachDeviceFlags(DomainHandle dom, string xml, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainDetachDeviceFlags(DomainHandle dom, string xml, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainUpdateDeviceFlags(DomainHandle dom, string xml, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSetVcpusFlags(DomainHandle dom, uint nvcpus, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSetMemoryFlags(DomainHandle dom, CULong memoryKiB, uint flags);
    [LibraryImport(Library)] internal static partial int virConnectGetAllDomainStats(ConnectHandle conn, uint stats, out IntPtr retStats, uint flags);
    [LibraryImport(Library)] internal static partial void virDomainStatsRecordListFree(IntPtr stats);

    // ---------------------------------------------------------------- storage pools
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StoragePoolHandle virStoragePoolLookupByName(ConnectHandle conn, string name);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StoragePoolHandle virStoragePoolDefineXML(ConnectHandle conn, string xml, uint flags);
    [LibraryImport(Library)] internal static partial int virConnectListAllStoragePools(ConnectHandle conn, out IntPtr pools, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolFree(IntPtr pool);
    [LibraryImport(Library)] internal static partial IntPtr virStoragePoolGetName(StoragePoolHandle pool);
    [LibraryImport(Library)] internal static partial int virStoragePoolGetUUIDString(StoragePoolHandle pool, byte* buf);
    [LibraryImport(Library)] internal static partial int virStoragePoolBuild(StoragePoolHandle pool, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolCreate(StoragePoolHandle pool, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolDestroy(StoragePoolHandle pool);
    [LibraryImport(Library)] internal static partial int virStoragePoolDelete(StoragePoolHandle pool, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolUndefine(StoragePoolHandle pool);
    [LibraryImport(Library)] internal static partial int virStoragePoolSetAutostart(StoragePoolHandle pool, int autostart);
    [LibraryImport(Library)] internal static partial int virStoragePoolGetAutostart(StoragePoolHandle pool, out int autostart);
    [LibraryImport(Library)] internal static partial int virStoragePoolRefresh(StoragePoolHandle pool, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolIsActive(StoragePoolHandle pool);
    [LibraryImport(Library)] internal static partial int virStoragePoolIsPersistent(StoragePoolHandle pool);
    [LibraryImport(Library)] internal static partial int virStoragePoolGetInfo(StoragePoolHandle pool, out VirStoragePoolInfoNative info);
    [LibraryImport(Library)] internal static partial IntPtr virStoragePoolGetXMLDesc(StoragePoolHandle pool, uint flags);
    [LibraryImport(Library)] internal static partial int virStoragePoolListAllVolumes(StoragePoolHandle pool, out IntPtr vols, uint flags);

    // ---------------------------------------------------------------- storage volumes
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StorageVolHandle virStorageVolLookupByName(StoragePoolHandle pool, string name);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StorageVolHandle virStorageVolLookupByPath(ConnectHandle conn, string path);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StorageVolHandle virStorageVolCreateXML(StoragePoolHandle pool, string xml, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial StorageVolHandle virStorageVolCreateXMLFrom(StoragePoolHandle pool, string xml, StorageVolHandle cloneVol, uint flags);
    [LibraryImport(Library)] internal static partial int virStorageVolFree(IntPtr vol);
    [LibraryImport(Library)] internal static partial IntPtr virStorageVolGetName(StorageVolHandle vol);
    [LibraryImport(Library)] internal static partial IntPtr virStorageVolGetKey(StorageVolHandle vol);
    [LibraryImport(Library)] internal static partial IntPtr virStorageVolGetPath(StorageVolHandle vol);
    [LibraryImport(Library)] internal static partial int virStorageVolGetInfo(StorageVolHandle vol, out VirStorageVolInfoNative info);
    [LibraryImport(Library)] internal static partial IntPtr virStorageVolGetXMLDesc(StorageVolHandle vol, uint flags);
    [LibraryImport(Library)] internal static partial int virStorageVolDelete(StorageVolHandle vol, uint flags);
    [LibraryImport(Library)] internal static partial int virStorageVolResize(StorageVolHandle vol, ulong capacity, uint flags);

    // ---------------------------------------------------------------- domain snapshots
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainSnapshotHandle virDomainSnapshotCreateXML(DomainHandle dom, string xml, uint flags);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainSnapshotHandle virDomainSnapshotLookupByName(DomainHandle dom, string name, uint flags);
    [LibraryImport(Library)] internal static partial DomainSnapshotHandle virDomainSnapshotCurrent(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainHasCurrentSnapshot(DomainHandle dom, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainListAllSnapshots(DomainHandle dom, out IntPtr snaps, uint flags);
    [LibraryImport(Library)] internal static partial DomainSnapshotHandle virDomainSnapshotGetParent(DomainSnapshotHandle snap, uint flags);
    [LibraryImport(Library)] internal static partial IntPtr virDomainSnapshotGetName(DomainSnapshotHandle snap);
    [LibraryImport(Library)] internal static partial IntPtr virDomainSnapshotGetXMLDesc(DomainSnapshotHandle snap, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSnapshotIsCurrent(DomainSnapshotHandle snap, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainRevertToSnapshot(DomainSnapshotHandle snap, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSnapshotDelete(DomainSnapshotHandle snap, uint flags);
    [LibraryImport(Library)] internal static partial int virDomainSnapshotFree(IntPtr snap);

    // ---------------------------------------------------------------- networks
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NetworkHandle virNetworkLookupByName(ConnectHandle conn, string name);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NetworkHandle virNetworkDefineXML(ConnectHandle conn, string xml);
    [LibraryImport(Library)] internal static partial int virConnectListAllNetworks(ConnectHandle conn, out IntPtr nets, uint flags);
    [LibraryImport(Library)] internal static partial int virNetworkFree(IntPtr net);
    [LibraryImport(Library)] internal static partial IntPtr virNetworkGetName(NetworkHandle net);
    [LibraryImport(Library)] internal static partial int virNetworkGetUUIDString(NetworkHandle net, byte* buf);
    [LibraryImport(Library)] internal static partial int virNetworkCreate(NetworkHandle net);
    [LibraryImport(Library)] internal static partial int virNetworkDestroy(NetworkHandle net);
    [LibraryImport(Library)] internal static partial int virNetworkUndefine(NetworkHandle net);
    [LibraryImport(Library)] internal static partial int virNetworkIsActive(NetworkHandle net);
    [LibraryImport(Library)] internal static partial int virNetworkSetAutostart(NetworkHandle net, int autostart);
    [LibraryImport(Library)] internal static partial int virNetworkGetAutostart(NetworkHandle net, out int autostart);
    [LibraryImport(Library)] internal static partial IntPtr virNetworkGetXMLDesc(NetworkHandle net, uint flags);
}

/// <summary>libc's <c>free</c>: strings and arrays libvirt hands over are released with it.</summary>
internal static partial class Libc
{
    [LibraryImport("libc.so.6")] internal static partial void free(IntPtr ptr);
}

/// <summary><c>struct _virError</c> (virterror.h); read through <see cref="LibvirtNative.virGetLastError"/>, never freed.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirErrorNative
{
    public int Code;
    public int Domain;
    public IntPtr Message;
    public int Level;
    public IntPtr Conn;
    public IntPtr Dom;
    public IntPtr Str1;
    public IntPtr Str2;
    public IntPtr Str3;
    public int Int1;
    public int Int2;
    public IntPtr Net;
}

/// <summary><c>struct _virDomainInfo</c>: unsigned char state; unsigned long maxMem, memory; unsigned short nrVirtCpu; unsigned long long cpuTime.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirDomainInfoNative
{
    public byte State;
    public CULong MaxMem;
    public CULong Memory;
    public ushort NrVirtCpu;
    public ulong CpuTime;
}

/// <summary><c>struct _virStoragePoolInfo</c>: int state; unsigned long long capacity, allocation, available.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirStoragePoolInfoNative
{
    public int State;
    public ulong Capacity;
    public ulong Allocation;
    public ulong Available;
}

/// <summary><c>struct _virStorageVolInfo</c>: int type; unsigned long long capacity, allocation.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirStorageVolInfoNative
{
    public int Type;
    public ulong Capacity;
    public ulong Allocation;
}

/// <summary><c>struct _virDomainStatsRecord</c>: virDomainPtr dom; virTypedParameterPtr params; int nparams.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VirDomainStatsRecordNative
{
    public IntPtr Dom;
    public IntPtr Params;
    public int NParams;
}

/// <summary><c>struct _virTypedParameter</c>: char field[80]; int type; union { int; uint; llong; ullong; double; char; char* } value.</summary>
[StructLayout(LayoutKind.Explicit, Size = 96)]
internal unsafe struct VirTypedParameterNative
{
    internal const int FieldLength = 80;
    [FieldOffset(0)] public fixed byte Field[FieldLength];
    [FieldOffset(80)] public int Type;
    [FieldOffset(88)] public int ValueInt;
    [FieldOffset(88)] public uint ValueUInt;
    [FieldOffset(88)] public long ValueLong;
    [FieldOffset(88)] public ulong ValueULong;
    [FieldOffset(88)] public double ValueDouble;
    [FieldOffset(88)] public byte ValueBool;
    [FieldOffset(88)] public IntPtr ValueString;
}
