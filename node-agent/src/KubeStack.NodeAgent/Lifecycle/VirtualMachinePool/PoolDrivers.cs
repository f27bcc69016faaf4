using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.Lifecycle.Common;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

/// <summary>What createPool asks for, read from its parameters.</summary>
/// <param name="Name">The libvirt pool name: the VirtualMachinePool's metadata.name.</param>
/// <param name="Type">The catalog's pool type (dir, localfs, nfs, glusterfs, uus, vdiskfs).</param>
/// <param name="Content">vmd, vmdi or iso.</param>
/// <param name="Url">A directory for dir/localfs, HOST:/export for nfs, HOST:volume for glusterfs.</param>
/// <param name="Options">Mount options (nfs, glusterfs).</param>
/// <param name="PoolName">The cstor pool name (createPool.uuid), or the resource name when absent.</param>
public sealed record PoolRequest(string Name, string Type, string Content, string Url, string? Options, string PoolName);

/// <summary>The libvirt definition a driver made for a request: the pool XML and where its volumes live.</summary>
public sealed record PoolDefinition(string LibvirtType, string TargetPath, string Xml);

/// <summary>
/// The seam where a pool type plugs in (docs/storage.md): a driver turns a createPool request into a libvirt pool
/// definition, or refuses it with a <see cref="StorageRefusedException"/>. The default drivers serve dir/localfs
/// (libvirt <c>dir</c>) and nfs/glusterfs (libvirt <c>netfs</c>); uus and vdiskfs need the vendor's storage CLI
/// (cstor-cli), which a driver for them would call before defining the pool.
/// </summary>
public interface IPoolDriver
{
    /// <summary>The catalog pool types this driver serves.</summary>
    IReadOnlyList<string> Types { get; }

    /// <summary>The libvirt definition of <paramref name="request"/> on node <paramref name="node"/>.</summary>
    PoolDefinition Define(PoolRequest request, string node);
}

/// <summary>The drivers of this node, by catalog pool type.</summary>
public sealed class PoolDriverRegistry
{
    private readonly Dictionary<string, IPoolDriver> _drivers = new(StringComparer.Ordinal);

    public PoolDriverRegistry(IEnumerable<IPoolDriver> drivers)
    {
        ArgumentNullException.ThrowIfNull(drivers);
        foreach (var driver in drivers)
        {
            foreach (var type in driver.Types)
            {
                _drivers[type] = driver;
            }
        }
    }

    /// <summary>dir/localfs, nfs/glusterfs, and the refusing vendor driver for uus/vdiskfs.</summary>
    public static PoolDriverRegistry Default { get; } = new([new DirPoolDriver(), new NetfsPoolDriver(), new VendorPoolDriver()]);

    public IPoolDriver For(string type, string node) =>
        _drivers.TryGetValue(type, out var driver)
            ? driver
            : throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"Pool type '{type}' is not supported on node {node}; the supported types are {string.Join(", ", _drivers.Keys.Order(StringComparer.Ordinal))}.");
}

/// <summary>dir and localfs: a libvirt <c>dir</c> pool whose target is the url, resolved inside the allowed roots.</summary>
public sealed class DirPoolDriver(IReadOnlyList<string>? roots = null) : IPoolDriver
{
    public IReadOnlyList<string> Types { get; } = ["dir", "localfs"];

    public PoolDefinition Define(PoolRequest request, string node)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = SafePath.Resolve(request.Url, roots);
        return new PoolDefinition("dir", target, PoolXml.Dir(request.Name, target));
    }
}

/// <summary>
/// nfs and glusterfs: a libvirt <c>netfs</c> pool mounted at <c>/var/lib/libvirt/cstor/&lt;poolname&gt;</c>
/// (poolname = createPool.uuid, or the resource name), with the mount options of <c>opt</c>.
/// </summary>
public sealed class NetfsPoolDriver(string mountRoot = NetfsPoolDriver.DefaultMountRoot) : IPoolDriver
{
    public const string DefaultMountRoot = "/var/lib/libvirt/cstor";

    public IReadOnlyList<string> Types { get; } = ["nfs", "glusterfs"];

    public PoolDefinition Define(PoolRequest request, string node)
    {
        ArgumentNullException.ThrowIfNull(request);
        var colon = request.Url.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == request.Url.Length - 1)
        {
            throw new RequestParameterException("url", $"createPool.url must be HOST:EXPORT for a {request.Type} pool, not '{request.Url}'.");
        }

        var host = request.Url[..colon];
        var export = request.Url[(colon + 1)..];
        var target = SafePath.Resolve($"{mountRoot}/{request.PoolName}");
        var format = request.Type == "nfs" ? "nfs" : "glusterfs";
        var options = (request.Options ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new PoolDefinition("netfs", target, PoolXml.Netfs(request.Name, host, export, format, target, options));
    }
}

/// <summary>uus and vdiskfs: served by the vendor's storage CLI (cstor-cli), which this node does not have.</summary>
public sealed class VendorPoolDriver : IPoolDriver
{
    public const string MissingComponent = "cstor-cli";

    public IReadOnlyList<string> Types { get; } = ["uus", "vdiskfs"];

    public PoolDefinition Define(PoolRequest request, string node)
    {
        ArgumentNullException.ThrowIfNull(request);
        throw Unsupported(request.Type, node);
    }

    public static StorageRefusedException Unsupported(string type, string node) =>
        new(ErrorClasses.VirtctlError,
            $"Pool type '{type}' needs the vendor storage CLI {MissingComponent}, which is not installed on node {node}; " +
            "this node serves dir, localfs, nfs and glusterfs pools. A driver for it plugs in as an IPoolDriver (docs/storage.md).");
}

/// <summary>libvirt storage pool XML (built as a tree, never by concatenation).</summary>
public static class PoolXml
{
    private static readonly XNamespace Fs = "http://libvirt.org/schemas/storagepool/fs/1.0";

    public static string Dir(string name, string targetPath) =>
        new XElement("pool", new XAttribute("type", "dir"),
            new XElement("name", name),
            new XElement("target", new XElement("path", targetPath))).ToString();

    public static string Netfs(string name, string host, string export, string format, string targetPath, IReadOnlyList<string> mountOptions)
    {
        var pool = new XElement("pool", new XAttribute("type", "netfs"),
            new XElement("name", name),
            new XElement("source",
                new XElement("host", new XAttribute("name", host)),
                new XElement("dir", new XAttribute("path", export)),
                new XElement("format", new XAttribute("type", format))),
            new XElement("target", new XElement("path", targetPath)));
        if (mountOptions.Count > 0)
        {
            pool.Add(new XAttribute(XNamespace.Xmlns + "fs", Fs.NamespaceName));
            pool.Add(new XElement(Fs + "mount_opts", mountOptions.Select(o => new XElement(Fs + "option", new XAttribute("name", o)))));
        }

        return pool.ToString();
    }
}
