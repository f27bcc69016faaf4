#pragma warning disable CA1008 // zero values are libvirt's own
#pragma warning disable CA1028 // libvirt's flag words are unsigned int
#pragma warning disable CA1711 // "Flags" is libvirt's naming
namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainState.</summary>
public enum DomainState
{
    NoState = 0, Running = 1, Blocked = 2, Paused = 3, Shutdown = 4, Shutoff = 5, Crashed = 6, PmSuspended = 7,
}

/// <summary>virDomainEventType: the <c>event</c> of a VIR_DOMAIN_EVENT_ID_LIFECYCLE callback.</summary>
public enum DomainLifecycleEventType
{
    Defined = 0, Undefined = 1, Started = 2, Suspended = 3, Resumed = 4, Stopped = 5, Shutdown = 6, PmSuspended = 7,
    Crashed = 8,
}

/// <summary>virConnectCloseReason.</summary>
public enum ConnectionCloseReason { Error = 0, Eof = 1, Keepalive = 2, Client = 3 }

/// <summary>virStoragePoolState.</summary>
public enum StoragePoolState { Inactive = 0, Building = 1, Running = 2, Degraded = 3, Inaccessible = 4 }

/// <summary>virStorageVolType.</summary>
public enum StorageVolType { File = 0, Block = 1, Dir = 2, Network = 3, NetDir = 4, Ploop = 5 }

/// <summary>virDomainCreateFlags (virDomainCreateWithFlags, virDomainCreateXML).</summary>
[Flags] public enum DomainStartFlags : uint { None = 0, Paused = 1, AutoDestroy = 2, BypassCache = 4, ForceBoot = 8, Validate = 16, ResetNvram = 32 }

/// <summary>virDomainDefineFlags.</summary>
[Flags] public enum DomainDefineFlags : uint { None = 0, Validate = 1 }

/// <summary>virDomainShutdownFlagValues; <see cref="Default"/> lets the hypervisor choose (ACPI for QEMU without an agent).</summary>
[Flags] public enum DomainShutdownFlags : uint { Default = 0, AcpiPowerButton = 1, GuestAgent = 2, Initctl = 4, Signal = 8, Paravirt = 16 }

/// <summary>virDomainRebootFlagValues.</summary>
[Flags] public enum DomainRebootFlags : uint { Default = 0, AcpiPowerButton = 1, GuestAgent = 2, Initctl = 4, Signal = 8, Paravirt = 16 }

/// <summary>virDomainDestroyFlagsValues: <see cref="Graceful"/> sends only SIGTERM (no SIGKILL).</summary>
[Flags] public enum DomainDestroyFlags : uint { Default = 0, Graceful = 1, RemoveLogs = 2 }

/// <summary>virDomainUndefineFlagsValues.</summary>
[Flags]
public enum DomainUndefineFlags : uint
{
    None = 0, ManagedSave = 1, SnapshotsMetadata = 2, Nvram = 4, KeepNvram = 8, CheckpointsMetadata = 16, KeepTpm = 32,
}

/// <summary>virDomainXMLFlags.</summary>
[Flags] public enum DomainXmlFlags : uint { None = 0, Secure = 1, Inactive = 2, UpdateCpu = 4, Migratable = 8 }

/// <summary>virDomainModificationImpact / virDomainDeviceModifyFlags.</summary>
[Flags] public enum DomainModificationFlags : uint { Current = 0, Live = 1, Config = 2, Force = 4 }

/// <summary>virDomainVcpuFlags (virDomainSetVcpusFlags).</summary>
[Flags] public enum DomainVcpuFlags : uint { Current = 0, Live = 1, Config = 2, Maximum = 4, Guest = 8, Hotpluggable = 16 }

/// <summary>virDomainMemoryModFlags (virDomainSetMemoryFlags).</summary>
[Flags] public enum DomainMemoryFlags : uint { Current = 0, Live = 1, Config = 2, Maximum = 4 }

/// <summary>virConnectListAllDomainsFlags.</summary>
[Flags]
public enum ListAllDomainsFlags : uint
{
    All = 0, Active = 1, Inactive = 2, Persistent = 4, Transient = 8, Running = 16, Paused = 32, Shutoff = 64, Other = 128,
}

/// <summary>virConnectListAllStoragePoolsFlags (the pool-type filters are left out).</summary>
[Flags] public enum ListAllStoragePoolsFlags : uint { All = 0, Inactive = 1, Active = 2, Persistent = 4, Transient = 8, Autostart = 16, NoAutostart = 32 }

/// <summary>virStoragePoolBuildFlags.</summary>
[Flags] public enum StoragePoolBuildFlags : uint { New = 0, Repair = 1, Resize = 2, NoOverwrite = 4, Overwrite = 8 }

/// <summary>virStoragePoolCreateFlags.</summary>
[Flags] public enum StoragePoolCreateFlags : uint { Normal = 0, WithBuild = 1, WithBuildOverwrite = 2, WithBuildNoOverwrite = 4 }

/// <summary>virStoragePoolDeleteFlags.</summary>
[Flags] public enum StoragePoolDeleteFlags : uint { Normal = 0, Zeroed = 1 }

/// <summary>virStorageVolCreateFlags.</summary>
[Flags] public enum StorageVolCreateFlags : uint { None = 0, PreallocMetadata = 1, Reflink = 2, Validate = 4 }

/// <summary>virStorageVolDeleteFlags.</summary>
[Flags] public enum StorageVolDeleteFlags : uint { Normal = 0, Zeroed = 1, WithSnapshots = 2 }

/// <summary>virStorageVolResizeFlags.</summary>
[Flags] public enum StorageVolResizeFlags : uint { None = 0, Allocate = 1, Delta = 2, Shrink = 4 }

/// <summary>virDomainSnapshotCreateFlags.</summary>
[Flags]
public enum DomainSnapshotCreateFlags : uint
{
    None = 0, Redefine = 1, Current = 2, NoMetadata = 4, Halt = 8, DiskOnly = 16, ReuseExt = 32, Quiesce = 64, Atomic = 128,
    Live = 256, Validate = 512,
}

/// <summary>virDomainSnapshotRevertFlags.</summary>
[Flags] public enum DomainSnapshotRevertFlags : uint { None = 0, Running = 1, Paused = 2, Force = 4, ResetNvram = 8 }

/// <summary>virDomainSnapshotDeleteFlags.</summary>
[Flags] public enum DomainSnapshotDeleteFlags : uint { None = 0, Children = 1, MetadataOnly = 2, ChildrenOnly = 4 }

/// <summary>virDomainSnapshotListFlags (Roots and Descendants share a bit: it means Roots for a domain, Descendants for a snapshot).</summary>
[Flags]
public enum DomainSnapshotListFlags : uint
{
    All = 0, Roots = 1, Metadata = 2, Leaves = 4, NoLeaves = 8, NoMetadata = 16, Inactive = 32, Active = 64, DiskOnly = 128,
    Internal = 256, External = 512, Topological = 1024,
}

/// <summary>virConnectListAllNetworksFlags.</summary>
[Flags] public enum ListAllNetworksFlags : uint { All = 0, Inactive = 1, Active = 2, Persistent = 4, Transient = 8, Autostart = 16, NoAutostart = 32 }

/// <summary>virDomainStatsTypes (virConnectGetAllDomainStats).</summary>
[Flags]
public enum DomainStatsTypes : uint
{
    Default = 0, State = 1, CpuTotal = 2, Balloon = 4, Vcpu = 8, Interface = 16, Block = 32, Perf = 64, IoThread = 128,
    Memory = 256, DirtyRate = 512, Vm = 1024,
}

/// <summary>virDomainGetState: the state and the state-specific reason number (e.g. Shutoff/Destroyed = 5/2).</summary>
public readonly record struct DomainStateInfo(DomainState State, int Reason);

/// <summary>virDomainGetInfo. Memory in KiB, CPU time in nanoseconds.</summary>
public readonly record struct DomainInfo(DomainState State, ulong MaxMemoryKiB, ulong MemoryKiB, int VirtualCpus, ulong CpuTimeNs);

/// <summary>virStoragePoolGetInfo, sizes in bytes.</summary>
public readonly record struct StoragePoolInfo(StoragePoolState State, ulong Capacity, ulong Allocation, ulong Available);

/// <summary>virStorageVolGetInfo, sizes in bytes.</summary>
public readonly record struct StorageVolInfo(StorageVolType Type, ulong Capacity, ulong Allocation);

/// <summary>One domain lifecycle event (VIR_DOMAIN_EVENT_ID_LIFECYCLE). <see cref="Detail"/> is the event-specific
/// detail number (virDomainEvent*DetailType); <see cref="DetailName"/> spells it.</summary>
public sealed record DomainLifecycleEvent(string Name, Guid Uuid, DomainLifecycleEventType Event, int Detail, DateTimeOffset ReceivedAt)
{
    public string DetailName => DomainEventDetails.Name(Event, Detail);
}

/// <summary>One domain's record of virConnectGetAllDomainStats: libvirt's typed parameters by field name
/// (e.g. <c>state.state</c>, <c>cpu.time</c>, <c>balloon.current</c>, <c>block.0.path</c>).</summary>
public sealed record DomainStatsRecord(string Name, Guid Uuid, IReadOnlyDictionary<string, object> Values);

/// <summary>Names of the event-specific details (libvirt-domain.h virDomainEvent*DetailType).</summary>
public static class DomainEventDetails
{
    public static string Name(DomainLifecycleEventType evt, int detail)
    {
        string[] names = evt switch
        {
            DomainLifecycleEventType.Defined => ["Added", "Updated", "Renamed", "FromSnapshot"],
            DomainLifecycleEventType.Undefined => ["Removed", "Renamed"],
            DomainLifecycleEventType.Started => ["Booted", "Migrated", "Restored", "FromSnapshot", "Wakeup"],
            DomainLifecycleEventType.Suspended => ["Paused", "Migrated", "IoError", "Watchdog", "Restored", "FromSnapshot", "ApiError", "Postcopy", "PostcopyFailed"],
            DomainLifecycleEventType.Resumed => ["Unpaused", "Migrated", "FromSnapshot", "Postcopy", "PostcopyFailed"],
            DomainLifecycleEventType.Stopped => ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "FromSnapshot"],
            DomainLifecycleEventType.Shutdown => ["Finished", "Guest", "Host"],
            DomainLifecycleEventType.PmSuspended => ["Memory", "Disk"],
            DomainLifecycleEventType.Crashed => ["Panicked", "CrashLoaded"],
            _ => [],
        };
        return detail >= 0 && detail < names.Length ? names[detail] : detail.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
