using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>A <c>virConnectPtr</c>; released with <c>virConnectClose</c> (libvirt keeps the connection alive while
/// objects obtained from it still hold references).</summary>
internal sealed class ConnectHandle : SafeHandle
{
    public ConnectHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virConnectClose(handle) >= 0;
}

/// <summary>A <c>virDomainPtr</c>; released with <c>virDomainFree</c>.</summary>
internal sealed class DomainHandle : SafeHandle
{
    public DomainHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal DomainHandle(IntPtr existing) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(existing);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virDomainFree(handle) >= 0;
}

/// <summary>A <c>virStoragePoolPtr</c>; released with <c>virStoragePoolFree</c>.</summary>
internal sealed class StoragePoolHandle : SafeHandle
{
    public StoragePoolHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal StoragePoolHandle(IntPtr existing) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(existing);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virStoragePoolFree(handle) >= 0;
}

/// <summary>A <c>virStorageVolPtr</c>; released with <c>virStorageVolFree</c>.</summary>
internal sealed class StorageVolHandle : SafeHandle
{
    public StorageVolHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal StorageVolHandle(IntPtr existing) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(existing);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virStorageVolFree(handle) >= 0;
}

/// <summary>A <c>virDomainSnapshotPtr</c>; released with <c>virDomainSnapshotFree</c>.</summary>
internal sealed class DomainSnapshotHandle : SafeHandle
{
    public DomainSnapshotHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal DomainSnapshotHandle(IntPtr existing) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(existing);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virDomainSnapshotFree(handle) >= 0;
}

/// <summary>A <c>virNetworkPtr</c>; released with <c>virNetworkFree</c>.</summary>
internal sealed class NetworkHandle : SafeHandle
{
    public NetworkHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal NetworkHandle(IntPtr existing) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(existing);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virNetworkFree(handle) >= 0;
}
