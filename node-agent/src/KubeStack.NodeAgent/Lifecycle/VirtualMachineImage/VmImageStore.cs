using System.Text.Json.Nodes;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.Contracts.Xml;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDiskImage;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineImage;

/// <summary>A VM image found on the host: its pool and directory, its template definition and the template's file disks.</summary>
public sealed record VmImage(string Name, string Pool, string Directory, string TemplatePath, XElement Template, IReadOnlyList<DomainFileDisk> Disks)
{
    /// <summary>Every file that belongs to the image: its disks, then the template.</summary>
    public IEnumerable<string> Files => Disks.Select(d => d.Path).Append(TemplatePath);
}

/// <summary>
/// Layout of a VM image (a template: a domain definition and full copies of its disks, docs/storage.md) directly in a
/// pool's directory, so the pool's volume list shows it:
/// <code>
/// &lt;pool dir&gt;/&lt;image&gt;.&lt;target&gt;   one standalone qcow2 per disk of the template (web.vda, web.vdb)
/// &lt;pool dir&gt;/&lt;image&gt;.xml        the template's domain definition (mode 0600: it may hold the VNC password)
/// </code>
/// The template file is written last (through a temporary name and a rename), so an image is complete exactly when its
/// template exists and names only existing disks. Image files are never written after that: VMs never run on them.
/// </summary>
public static class VmImageStore
{
    /// <summary>The file name of an image's template definition.</summary>
    public static string TemplateName(string image) => $"{image}.xml";

    /// <summary>The file name of an image's disk with target <paramref name="target"/>.</summary>
    public static string DiskName(string image, string target) => $"{image}.{target}";

    /// <summary>The image <paramref name="image"/> in pool <paramref name="poolName"/> (active, directory-backed), or null.</summary>
    public static VmImage? TryRead(LibvirtConnection connection, string poolName, string image, string node)
    {
        var dir = DiskImageSteps.PoolDirectory(connection, poolName, node);
        return TryReadIn(poolName, SafePath.Resolve(Path.Combine(dir, TemplateName(image))), dir, image);
    }

    /// <summary>
    /// The image <paramref name="image"/> wherever it is: in <paramref name="preferredPool"/> when that pool has it, else
    /// in the one active directory pool that has it. Null when no pool has it; a refusal when several do.
    /// </summary>
    public static VmImage? Find(LibvirtConnection connection, string image, string? preferredPool, string node)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var found = new List<VmImage>();
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                if (TryReadFrom(pool, image) is { } hit)
                {
                    found.Add(hit);
                }
            }
        }

        if (found.FirstOrDefault(i => i.Pool == preferredPool) is { } preferred)
        {
            return preferred;
        }

        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"VM image {image} exists in several pools on node {node} ({string.Join(", ", found.Select(f => f.Pool))}); " +
                "remove the copies made outside KubeStack so one remains."),
        };
    }

    /// <summary>Writes the template through <c>.&lt;image&gt;.xml.part</c> (mode 0600) and renames it into place.</summary>
    public static async Task<string> WriteTemplateAsync(string directory, string image, XElement template, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(template);
        var finalPath = SafePath.Resolve(Path.Combine(directory, TemplateName(image)));
        var partPath = VmDiskCopies.TemporaryPathOf(finalPath);
        File.Delete(partPath);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(partPath, options);
            await using (stream.ConfigureAwait(false))
            {
                await template.SaveAsync(stream, SaveOptions.None, ct).ConfigureAwait(false);
                await stream.FlushAsync(ct).ConfigureAwait(false);
            }

            File.Move(partPath, finalPath, overwrite: false);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }

        return finalPath;
    }

    /// <summary>
    /// spec.domain of an image (or of a VM about to be made from one): the template as JSON, without any graphics
    /// password (the template file keeps it; views, Events and logs never do).
    /// </summary>
    public static JsonObject View(XElement template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var copy = new XElement(template);
        foreach (var secret in copy.Descendants().Attributes("passwd").ToList())
        {
            secret.Remove();
        }

        return LibvirtXmlJson.ToJson(copy, LibvirtDocument.Domain);
    }

    /// <summary>
    /// What still uses the image's files: volumes of any active pool that back onto one of them and domains that use
    /// them (sorted, "volume pool/name" and "VM name").
    /// </summary>
    public static async Task<IReadOnlyList<string>> UsersAsync(LibvirtConnection connection, QemuImg qemuImg, VmImage image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(image);
        var users = new SortedSet<string>(StringComparer.Ordinal);
        var own = image.Disks.Select(d => $"volume {image.Pool}/{Path.GetFileName(d.Path)}").ToHashSet(StringComparer.Ordinal);
        foreach (var disk in image.Disks)
        {
            foreach (var user in await DiskImageSteps.BackedUsersAsync(connection, qemuImg, disk.Path, image.Pool, Path.GetFileName(disk.Path), ct)
                .ConfigureAwait(false))
            {
                if (!own.Contains(user))
                {
                    users.Add(user);
                }
            }
        }

        return [.. users];
    }

    /// <summary>
    /// Deletes the image: its disks first, the template last, so an interrupted delete still finds the image (by its
    /// template) and finishes on the next attempt. Refreshes the pool.
    /// </summary>
    public static void Delete(LibvirtConnection connection, VmImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        foreach (var disk in image.Disks)
        {
            VmDisks.Delete(connection, disk.Path);
        }

        File.Delete(image.TemplatePath);
        VmDiskCopies.RefreshPoolsOf(connection, [image.Directory]);
    }

    /// <summary>The image in one pool of the scan, or null: inactive pools, pools outside the allowed roots (nothing of ours can be there) and pools that vanish while we look are skipped.</summary>
    private static VmImage? TryReadFrom(LibvirtStoragePool pool, string image)
    {
        try
        {
            return pool.IsActive() && PoolSnapshot.Read(pool, refresh: false).TargetPath is { } dir &&
                   SafePath.TryResolve(Path.Combine(dir, TemplateName(image))) is { IsSafe: true, FullPath: { } templatePath }
                ? TryReadIn(pool.Name, templatePath, dir, image)
                : null;
        }
        catch (LibvirtException ex) when (ex.IsNoStoragePool || ex.IsOperationInvalid)
        {
            return null;
        }
    }

    private static VmImage? TryReadIn(string poolName, string templatePath, string directory, string image)
    {
        if (!File.Exists(templatePath))
        {
            return null;
        }

        XElement template;
        try
        {
            template = XElement.Load(templatePath);
        }
        catch (System.Xml.XmlException ex)
        {
            throw new StorageRefusedException(ErrorClasses.VirtletError,
                $"The template {templatePath} of VM image {image} is not valid XML ({ex.Message}); it was changed outside KubeStack.");
        }

        return new VmImage(image, poolName, directory, templatePath, template, VmDiskCopies.FileDisks(template));
    }
}
