using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// Runs storage handlers directly (no API server) against libvirtd on qemu:///system: dir pools under /mnt/localfs
/// made through libvirt, disks made with qemu-img, data written and checked with qemu-io. Disposing removes it all.
/// </summary>
internal sealed class StorageTestKit : IDisposable
{
    public const string Node = "lab-node";

    private StorageTestKit()
    {
        Connection = LibvirtConnection.Open(LabEnvironment.SystemUri);
        Libvirt = new LibvirtHost(() => Connection);
        Cleanup = new LibvirtCleanup(Connection);
    }

    public LibvirtConnection Connection { get; }
    public LibvirtHost Libvirt { get; }
    public LibvirtCleanup Cleanup { get; }
    public static QemuImg QemuImg => QemuImg.Default;

    public static StorageTestKit Open() => new();

    /// <summary>An active dir pool under /mnt/localfs; returns its name and directory.</summary>
    public (string Name, string Path) NewPool()
    {
        var name = Cleanup.Pool(LabEnvironment.UniqueName("pool"));
        var path = Cleanup.PathToDelete($"/mnt/localfs/{name}");
        using var pool = Connection.StoragePoolDefineXml(LabGuest.DirPoolXml(name, path));
        pool.Build();
        pool.Create();
        return (name, path);
    }

    /// <summary>A qcow2 (or raw) disk file named <paramref name="name"/> in the pool directory, the pool refreshed.</summary>
    public async Task<string> NewDiskAsync(string poolName, string poolPath, string name, long size = 1_000_000_000, string format = "qcow2")
    {
        var path = Path.Combine(poolPath, name);
        await QemuImg.CreateAsync(path, format, size);
        using var pool = Connection.LookupStoragePoolByName(poolName);
        pool.Refresh();
        return path;
    }

    /// <summary>Runs <paramref name="handler"/> on a disk object named <paramref name="name"/> carrying one request.</summary>
    public static Task<HandlerResult> RunAsync(ILifecycleHandler handler, string name, JsonObject parameters, int attempt = 1, JsonObject? volumeView = null)
    {
        var op = CatalogLoader.Default.Find(handler.Kind, handler.Key) ?? throw new InvalidOperationException($"{handler.Key} is not in the catalog.");
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = handler.Kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new KubeStackSpec { Lifecycle = new JsonObject { [handler.Key] = parameters.DeepClone() }, Volume = volumeView },
        };
        return handler.HandleAsync(new RequestContext
        {
            Object = obj,
            Operation = op,
            Parameters = parameters,
            NodeName = Node,
            Attempt = attempt,
            Logger = NullLogger.Instance,
        }, CancellationToken.None);
    }

    /// <summary><c>qemu-io -c "write -P pattern offset length"</c>.</summary>
    public static async Task WriteAsync(string path, byte pattern, long offset, long length)
    {
        var r = await HostToolRunner.Default.RunAsync("qemu-io", ["-f", "qcow2", "-c", $"write -P 0x{pattern:x2} {offset} {length}", path], CancellationToken.None);
        Assert.Equal(0, r.ExitCode);
    }

    /// <summary>Whether the guest-visible bytes [offset, offset+length) of the image all equal <paramref name="pattern"/> (<c>qemu-io read -P</c>).</summary>
    public static async Task<bool> ReadsAsync(string path, byte pattern, long offset, long length, string format = "qcow2")
    {
        var r = await HostToolRunner.Default.RunAsync("qemu-io", ["-r", "-U", "-f", format, "-c", $"read -P 0x{pattern:x2} {offset} {length}", path],
            CancellationToken.None, new HashSet<int> { 0, 1 });
        return r.ExitCode == 0 && !r.Stdout.Contains("verification failed", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Cleanup.Dispose();
        Connection.Dispose();
    }
}

/// <summary>Assertions on handler results.</summary>
internal static class HandlerResults
{
    /// <summary>The success (with the failure's message when it is not one).</summary>
    public static HandlerResult.Success Ok(this HandlerResult result) =>
        result as HandlerResult.Success ?? throw new Xunit.Sdk.XunitException($"Expected success, got {result}");

    /// <summary>The failure with error class <paramref name="errorClass"/>.</summary>
    public static HandlerResult.Failure Fails(this HandlerResult result, string errorClass)
    {
        var failure = result as HandlerResult.Failure ?? throw new Xunit.Sdk.XunitException($"Expected a {errorClass} failure, got {result}");
        Assert.True(failure.ErrorClass == errorClass, $"Expected {errorClass}, got {failure.ErrorClass}: {failure.Message}");
        return failure;
    }
}
