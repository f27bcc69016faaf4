using System.Runtime.InteropServices;
using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainBlockJobType.</summary>
public enum DomainBlockJobType
{
    Unknown = 0, Pull = 1, Copy = 2, Commit = 3, ActiveCommit = 4, Backup = 5,
}

/// <summary>virDomainBlockRebaseFlags.</summary>
[Flags]
public enum DomainBlockRebaseFlags : uint
{
    None = 0, Shallow = 1, ReuseExt = 2, CopyRaw = 4, Copy = 8, Relative = 16, CopyDev = 32, BandwidthBytes = 64,
}

/// <summary>virDomainBlockCommitFlags.</summary>
[Flags]
public enum DomainBlockCommitFlags : uint
{
    None = 0, Shallow = 1, Delete = 2, Active = 4, Relative = 8, BandwidthBytes = 16,
}

/// <summary>virDomainBlockCopyFlags.</summary>
[Flags]
public enum DomainBlockCopyFlags : uint
{
    None = 0, Shallow = 1, ReuseExt = 2, TransientJob = 4, SynchronousWrites = 8,
}

/// <summary>virDomainBlockJobAbortFlags.</summary>
[Flags]
public enum DomainBlockJobAbortFlags : uint
{
    None = 0, Async = 1, Pivot = 2,
}

/// <summary>A block job's progress (virDomainBlockJobInfo): done when <see cref="Cur"/> equals <see cref="End"/>.</summary>
public sealed record DomainBlockJobInfo(DomainBlockJobType Type, ulong Cur, ulong End)
{
    /// <summary>All data is copied: a pull or commit ends by itself, a copy or active commit waits for a pivot.</summary>
    public bool Ready => End > 0 && Cur == End;
}

public sealed partial class LibvirtDomain
{
    /// <summary>
    /// virDomainBlockRebase without copy flags = a block pull: the data of every backing file above
    /// <paramref name="baseImage"/> (a path in the disk's chain; null pulls the whole chain) is copied into the active
    /// layer of <paramref name="disk"/>, then the active layer backs onto <paramref name="baseImage"/>. Returns when the
    /// job started; it ends by itself (poll <see cref="GetBlockJobInfo"/> until null).
    /// </summary>
    public void BlockPull(string disk, string? baseImage)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        _conn.Check(LibvirtNative.virDomainBlockRebase(_handle, disk, baseImage, new CULong(0), (uint)DomainBlockRebaseFlags.None), "virDomainBlockRebase");
    }

    /// <summary>
    /// virDomainBlockCommit: writes the data of <paramref name="top"/> (and the files between it and the base) into
    /// <paramref name="baseImage"/>; files above <paramref name="top"/> then back onto the base. <paramref name="top"/>
    /// null or the active layer needs <see cref="DomainBlockCommitFlags.Active"/> and ends with a pivot
    /// (<see cref="BlockJobAbort"/> with <see cref="DomainBlockJobAbortFlags.Pivot"/> once <see cref="DomainBlockJobInfo.Ready"/>).
    /// </summary>
    public void BlockCommit(string disk, string? baseImage, string? top, DomainBlockCommitFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        _conn.Check(LibvirtNative.virDomainBlockCommit(_handle, disk, baseImage, top, new CULong(0), (uint)flags), "virDomainBlockCommit");
    }

    /// <summary>virDomainBlockCopy: mirrors disk <paramref name="disk"/> into the destination <c>&lt;disk&gt;</c> XML
    /// (with a <c>&lt;backingStore&gt;</c> chain for a shallow copy onto an existing file); ends with a pivot or an abort.</summary>
    public void BlockCopy(string disk, string destinationXml, DomainBlockCopyFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        ArgumentException.ThrowIfNullOrEmpty(destinationXml);
        _conn.Check(LibvirtNative.virDomainBlockCopy(_handle, disk, destinationXml, IntPtr.Zero, 0, (uint)flags), "virDomainBlockCopy");
    }

    /// <summary>virDomainGetBlockJobInfo: the running block job of <paramref name="disk"/>, or null when there is none.</summary>
    public DomainBlockJobInfo? GetBlockJobInfo(string disk)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        var rc = _conn.Check(LibvirtNative.virDomainGetBlockJobInfo(_handle, disk, out var info, 0), "virDomainGetBlockJobInfo");
        return rc == 0 ? null : new DomainBlockJobInfo((DomainBlockJobType)info.Type, info.Cur, info.End);
    }

    /// <summary>virDomainBlockJobAbort: cancels the job, or with <see cref="DomainBlockJobAbortFlags.Pivot"/> switches
    /// the disk to the copy / the commit's base. Without <see cref="DomainBlockJobAbortFlags.Async"/> it returns when done.</summary>
    public void BlockJobAbort(string disk, DomainBlockJobAbortFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        _conn.Check(LibvirtNative.virDomainBlockJobAbort(_handle, disk, (uint)flags), "virDomainBlockJobAbort");
    }
}
