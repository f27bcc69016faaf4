namespace KubeStack.NodeAgent.Libvirt;

public sealed partial class LibvirtStoragePool
{
    /// <summary>How long <see cref="Refresh"/> waits for libvirtd to finish building volumes in the pool.</summary>
    public static readonly TimeSpan RefreshBusyLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// virStoragePoolRefresh: rescans the pool's volumes (after files changed behind libvirt). While libvirtd builds a
    /// volume in the pool (virStorageVolCreateXML of another request, or of an agent killed during its createDisk)
    /// libvirt refuses to refresh with VIR_ERR_INTERNAL_ERROR ("pool has asynchronous jobs running"), the only internal
    /// error its refresh reports itself; nothing is wrong then, so the refresh is tried again with a growing pause (25 ms
    /// to 400 ms) for up to <see cref="RefreshBusyLimit"/>. Any other error, or one that lasts longer, is thrown.
    /// </summary>
    public void Refresh()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(25);
        while (true)
        {
            try
            {
                RefreshOnce();
                return;
            }
            catch (LibvirtException ex) when (ex.Code == VirErrorNumber.InternalError && waited.Elapsed + pause < RefreshBusyLimit)
            {
                Thread.Sleep(pause);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(400).Ticks));
            }
        }
    }
}
