using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Storage;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using KubeStack.Runtime.Api;

namespace KubeStack.HostIntegration.Tests.Migration;

/// <summary>
/// The two lab "nodes" of the migration tests: the lab's libvirtd (qemu:///system, node <see cref="SourceNode"/>) and
/// the second daemon of lab component node2 (qemu+tcp://10.77.2.2/system in network namespace kubestack-node2, node
/// <see cref="TargetNode"/>; docs/host-lab.md). Disks live under /mnt/localfs, which both daemons see (the lab's
/// shared storage; each daemon's /var/lib/libvirt is its own).
/// </summary>
internal sealed class MigrationLab : IDisposable
{
    public const string SourceNode = StorageTestKit.Node;
    public const string TargetNode = "lab-node2";
    public const string TargetAddress = "10.77.2.2";
    public const string TargetUri = "qemu+tcp://10.77.2.2/system";

    /// <summary>The host side of node2's veth: an address on the same link where no libvirtd listens (connection refused).</summary>
    public const string DeadAddress = "10.77.2.1";

    private static readonly Lazy<string?> Node2Missing = new(() =>
    {
        if (LabEnvironment.WhyNoLab is { } lab) return lab;
        try
        {
            using var c = LibvirtConnection.Open(TargetUri);
            _ = c.GetLibVersion();
            return null;
        }
        catch (LibvirtException ex)
        {
            return $"the second lab node does not answer on {TargetUri}: {ex.LibvirtMessage} (run lab/lab-up.sh node2)";
        }
    });

    public static string? WhyNoNode2 => Node2Missing.Value;

    public MigrationLab()
    {
        Source = LibvirtConnection.Open(LabEnvironment.SystemUri);
        Target = LibvirtConnection.Open(TargetUri);
        Libvirt = new LibvirtHost(() => Source);
        Targets = new StaticMigrationTargets([
            new MigrationTarget(TargetNode, TargetAddress, TargetUri),
            new MigrationTarget("lab-dead", DeadAddress, $"qemu+tcp://{DeadAddress}/system"),
        ]);
    }

    public LibvirtConnection Source { get; }
    public LibvirtConnection Target { get; }
    public LibvirtHost Libvirt { get; }
    public IMigrationTargets Targets { get; }
    private readonly List<string> _domains = [];
    private readonly List<(LibvirtConnection Conn, string Name)> _pools = [];
    private readonly List<string> _paths = [];

    public VmHost VmHost(bool allowUnsafe) =>
        new(Libvirt, new AgentOptions { NodeName = SourceNode, DomainType = DomainType.Qemu, MigrationAllowUnsafe = allowUnsafe });

    /// <summary>A directory under /mnt/localfs (seen by both nodes), removed at the end.</summary>
    public string NewDir(string what)
    {
        var dir = Path.Combine("/mnt/localfs", LabEnvironment.UniqueName(what));
        Directory.CreateDirectory(dir);
        _paths.Add(dir);
        return dir;
    }

    /// <summary>A started dir pool on <paramref name="conn"/> over a new /mnt/localfs directory.</summary>
    public (string Name, string Path) NewPool(LibvirtConnection conn, string what)
    {
        var name = LabEnvironment.UniqueName(what);
        var path = Path.Combine("/mnt/localfs", name);
        _paths.Add(path);
        _pools.Add((conn, name));
        using var pool = conn.StoragePoolDefineXml(LabGuest.DirPoolXml(name, path));
        pool.Build();
        pool.Create();
        return (name, path);
    }

    /// <summary>Defines the lab guest (TCG, kernel + initramfs, a qcow2 vda at <paramref name="diskPath"/>) on the source node.</summary>
    public (string Name, string SerialLog) DefineGuest(string diskPath, string? name = null)
    {
        name ??= LabEnvironment.UniqueName("mig");
        _domains.Add(name);
        var log = Path.Combine(Path.GetDirectoryName(diskPath)!, name + "-serial.log");
        using var d = Source.DefineXml(LabGuest.DomainXml(name, log, diskPath, memoryMiB: 192));
        return (name, log);
    }

    /// <summary>Runs <paramref name="handler"/> as the source node's agent would, on an object named <paramref name="name"/>.</summary>
    public static Task<HandlerResult> RunAsync(ILifecycleHandler handler, string name, JsonObject parameters, JsonObject? volume = null, int attempt = 1) =>
        StorageTestKit.RunAsync(handler, name, parameters, attempt, volume);

    public static bool Has(LibvirtConnection conn, string name)
    {
        using var d = conn.TryLookupDomainByName(name);
        return d is not null;
    }

    public void Dispose()
    {
        foreach (var conn in new[] { Source, Target })
        {
            foreach (var name in _domains)
            {
                using var d = conn.TryLookupDomainByName(name);
                if (d is null) continue;
                try { if (d.IsActive()) d.Destroy(); } catch (LibvirtException) { }
                try { d.Undefine(); } catch (LibvirtException) { }
            }
        }

        foreach (var (conn, name) in _pools)
        {
            using var p = conn.TryLookupStoragePoolByName(name);
            if (p is null) continue;
            try { if (p.IsActive()) p.Destroy(); } catch (LibvirtException) { }
            try { p.Undefine(); } catch (LibvirtException) { }
        }

        foreach (var path in _paths)
        {
            try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); } catch (IOException) { }
        }

        Target.Dispose();
        Source.Dispose();
    }
}

/// <summary>Runs when both lab nodes answer (lab/lab-up.sh with the node2 component).</summary>
public sealed class Node2FactAttribute : FactAttribute
{
    public Node2FactAttribute() { if (MigrationLab.WhyNoNode2 is { } r) Skip = r; }
}

/// <summary>The VirtualMachinePool objects migrateDisk looks up (the only read it makes).</summary>
internal sealed class PoolObjects(params (string Name, string Node)[] pools) : IObjectApi
{
    public Task<KubeStackResource?> GetAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        var hit = pools.FirstOrDefault(p => key.Kind == Kinds.VirtualMachinePool && p.Name == key.Name);
        return Task.FromResult(hit.Name is null ? null : new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = Kinds.VirtualMachinePool,
            Metadata = new V1ObjectMeta { Name = hit.Name, NamespaceProperty = key.Namespace, Labels = new Dictionary<string, string> { [Labels.Host] = hit.Node } },
            Spec = new KubeStackSpec(),
            Status = new KubeStackStatus { NodeName = hit.Node },
        });
    }

    public Task<StatusUpdate<KubeStackResource>> UpdateStatusAsync(ResourceKey key, Func<KubeStackResource, bool> mutate, KubeStackResource? current,
        CancellationToken cancellationToken) => throw new NotSupportedException("migrateDisk never writes objects itself");

    public Task<KubeStackResource> PatchAsync(ResourceKey key, JsonObject mergePatch, CancellationToken cancellationToken) =>
        throw new NotSupportedException("migrateDisk never writes objects itself");

    public Task<bool> DeleteAsync(ResourceKey key, string? uid, CancellationToken cancellationToken) =>
        throw new NotSupportedException("migrateDisk never writes objects itself");
}
