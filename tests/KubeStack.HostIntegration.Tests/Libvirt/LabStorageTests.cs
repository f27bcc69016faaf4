using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Libvirt;

[Collection(LabCollection.Name)]
public sealed class LabStorageTests
{
    [LabFact]
    public async Task Dir_pool_and_qcow2_volume_through_the_storage_api_create_a_real_qcow2_file()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var target = cleanup.PathToDelete(Path.Combine(LabEnvironment.StateDir, "pools", poolName));

        using var pool = conn.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, target));
        Assert.False(pool.IsActive());
        pool.Build();
        Assert.True(Directory.Exists(target));
        pool.Create();
        pool.SetAutostart(true);
        Assert.True(pool.GetAutostart());
        Assert.Equal(StoragePoolState.Running, pool.GetInfo().State);
        Assert.Contains(target, pool.GetXmlDesc(), StringComparison.Ordinal);
        var pools = conn.ListAllStoragePools(ListAllStoragePoolsFlags.Active);
        try { Assert.Contains(pools, p => p.Name == poolName); }
        finally { foreach (var p in pools) p.Dispose(); }

        const long size = 64L << 20;
        using var vol = pool.StorageVolCreateXml(LabGuest.Qcow2VolumeXml("disk0.qcow2", size));
        var path = vol.GetPath();
        Assert.Equal(Path.Combine(target, "disk0.qcow2"), path);
        Assert.True(File.Exists(path));
        var info = await QemuImg.Default.InfoAsync(path);
        Assert.Equal("qcow2", info.Format);
        Assert.Equal(size, info.VirtualSize);
        Assert.Equal((ulong)size, vol.GetInfo().Capacity);
        Assert.Equal(StorageVolType.File, vol.GetInfo().Type);

        vol.Resize(128L << 20);
        Assert.Equal(128L << 20, (await QemuImg.Default.InfoAsync(path)).VirtualSize);

        using (var clone = pool.StorageVolCreateXmlFrom(LabGuest.Qcow2VolumeXml("clone.qcow2", size), vol))
        {
            Assert.Equal("qcow2", (await QemuImg.Default.InfoAsync(clone.GetPath())).Format);
        }
        using (var byPath = conn.LookupStorageVolByPath(path)) Assert.Equal("disk0.qcow2", byPath.Name);

        // a file created behind libvirt's back shows up after Refresh
        await QemuImg.Default.CreateAsync(Path.Combine(target, "outside.qcow2"), "qcow2", 1 << 20);
        Assert.Null(pool.TryLookupStorageVolByName("outside.qcow2"));
        pool.Refresh();
        using (var outside = pool.LookupStorageVolByName("outside.qcow2")) Assert.Equal(1UL << 20, outside.GetInfo().Capacity);

        var names = pool.ListAllVolumes().Select(v => { using (v) return v.Name; }).Order().ToArray();
        Assert.Equal(["clone.qcow2", "disk0.qcow2", "outside.qcow2"], names);

        vol.Delete();
        Assert.False(File.Exists(path));
        Assert.True(Assert.Throws<LibvirtException>(() => pool.LookupStorageVolByName("disk0.qcow2")).IsNoStorageVol);
        foreach (var v in pool.ListAllVolumes()) using (v) v.Delete();

        pool.Destroy();
        Assert.False(pool.IsActive());
        pool.Delete();
        Assert.False(Directory.Exists(target));
        pool.Undefine();
        Assert.True(Assert.Throws<LibvirtException>(() => conn.LookupStoragePoolByName(poolName)).IsNoStoragePool);
    }

    [LabFact]
    public void Starting_an_active_pool_is_OperationInvalid_and_a_missing_pool_is_NoStoragePool()
    {
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var poolName = cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var target = cleanup.PathToDelete(Path.Combine(LabEnvironment.StateDir, "pools", poolName));
        using var pool = conn.StoragePoolDefineXml(LabGuest.DirPoolXml(poolName, target));
        pool.Create(StoragePoolCreateFlags.WithBuild);
        Assert.True(Assert.Throws<LibvirtException>(() => pool.Create()).IsOperationInvalid);
        Assert.True(Assert.Throws<LibvirtException>(() => conn.LookupStoragePoolByName("kst-no-such-pool")).IsNoStoragePool);
    }
}
