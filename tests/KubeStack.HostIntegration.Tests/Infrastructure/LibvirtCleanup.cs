using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Infrastructure;

/// <summary>Removes what a test created, even when it failed: domains (destroyed, undefined with all metadata),
/// pools (their volumes deleted, stopped, directory removed, undefined) and files. Errors during cleanup are ignored
/// so the test's own failure stays visible.</summary>
public sealed class LibvirtCleanup(LibvirtConnection conn) : IDisposable
{
    private readonly List<string> _domains = [];
    private readonly List<string> _pools = [];
    private readonly List<string> _paths = [];

    public string Domain(string name) { _domains.Add(name); return name; }
    public string Pool(string name) { _pools.Add(name); return name; }
    public string PathToDelete(string path) { _paths.Add(path); return path; }

    public void Dispose()
    {
        foreach (var name in _domains)
        {
            using var d = Try(() => conn.TryLookupDomainByName(name));
            if (d is null) continue;
            Try(() => { if (d.IsActive()) d.Destroy(); return 0; });
            Try(() => { d.Undefine(DomainUndefineFlags.SnapshotsMetadata | DomainUndefineFlags.CheckpointsMetadata | DomainUndefineFlags.ManagedSave); return 0; });
        }
        foreach (var name in _pools)
        {
            using var p = Try(() => conn.TryLookupStoragePoolByName(name));
            if (p is null) continue;
            Try(() =>
            {
                if (!p.IsActive()) p.Create();
                foreach (var v in p.ListAllVolumes()) using (v) v.Delete();
                return 0;
            });
            Try(() => { if (p.IsActive()) p.Destroy(); return 0; });
            Try(() => { p.Delete(); return 0; });
            Try(() => { p.Undefine(); return 0; });
        }
        foreach (var path in _paths)
        {
            Try(() => { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); else File.Delete(path); return 0; });
        }
    }

    private static T? Try<T>(Func<T> f)
    {
        try { return f(); }
        catch (LibvirtException) { return default; }
        catch (IOException) { return default; }
        catch (UnauthorizedAccessException) { return default; }
    }
}
