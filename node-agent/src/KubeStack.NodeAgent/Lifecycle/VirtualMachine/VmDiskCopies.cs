using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>A file disk of a domain definition: its target, its file and the driver's format (qcow2 when not said).</summary>
public sealed record DomainFileDisk(string Target, string Path, string Format);

/// <summary>
/// Steps shared by the operations that copy whole VMs (cloneVM, convertVMToImage, convertImageToVM): full copies of disk
/// files written under a hidden temporary name and renamed into place only when complete (so an interrupted copy never
/// leaves a file that looks finished), recognising a complete copy left by an earlier attempt of the same request, and
/// rewriting a domain definition onto new files, a new name, UUID and MACs.
/// </summary>
public static class VmDiskCopies
{
    /// <summary>The file disks (device=disk with a file source) of a domain definition, in document order.</summary>
    public static IReadOnlyList<DomainFileDisk> FileDisks(XElement domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.Element("devices")?.Elements("disk")
            .Where(d => (string?)d.Attribute("device") is null or "disk")
            .Select(d => ((string?)d.Element("target")?.Attribute("dev"), (string?)d.Element("source")?.Attribute("file"),
                (string?)d.Element("driver")?.Attribute("type")))
            .Where(t => t.Item1 is not null && t.Item2 is not null)
            .Select(t => new DomainFileDisk(t.Item1!, t.Item2!, t.Item3 ?? DiskOperations.Format))
            .ToList() ?? [];
    }

    /// <summary>
    /// Copies <paramref name="source"/> (its whole backing chain flattened, <c>qemu-img convert</c>) to
    /// <paramref name="finalPath"/> through <c>.&lt;name&gt;.part</c> in the same directory: a stale temporary file is
    /// removed first, the temporary file is removed again when the copy fails, and the rename happens only after
    /// qemu-img finished. <paramref name="nonsparse"/> allocates the whole file (<c>preallocation=falloc</c>).
    /// </summary>
    public static async Task CopyAsync(QemuImg qemuImg, string source, string sourceFormat, string finalPath, string outputFormat, bool nonsparse,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentException.ThrowIfNullOrEmpty(finalPath);
        var partPath = TemporaryPathOf(finalPath);
        File.Delete(partPath);
        try
        {
            var options = nonsparse ? new Dictionary<string, string> { ["preallocation"] = "falloc" } : null;
            await qemuImg.ConvertAsync(source, partPath, outputFormat, sourceFormat: sourceFormat, options: options, cancellationToken: ct)
                .ConfigureAwait(false);
            File.Move(partPath, finalPath, overwrite: false);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }
    }

    /// <summary>
    /// Puts a full copy of <paramref name="source"/> at <paramref name="path"/> for a request: an existing file is refused
    /// (LibvirtError, <paramref name="refusal"/>) on a first attempt and kept on a resumed one when it is a complete copy
    /// made by the earlier attempt; otherwise <see cref="CopyAsync"/>.
    /// </summary>
    public static async Task PlaceCopyAsync(QemuImg qemuImg, QemuImgInfo source, string path, string format, bool nonsparse, int attempt,
        string refusal, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!File.Exists(path))
        {
            await CopyAsync(qemuImg, source.Filename, source.Format, path, format, nonsparse, ct).ConfigureAwait(false);
        }
        else if (attempt == 1 || !await IsCompleteCopyAsync(qemuImg, path, source, format, ct).ConfigureAwait(false))
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError, refusal);
        }
    }

    /// <summary>The temporary file a copy to <paramref name="finalPath"/> is written to (<c>.&lt;name&gt;.part</c> beside it).</summary>
    public static string TemporaryPathOf(string finalPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(finalPath);
        var dir = Path.GetDirectoryName(finalPath) ?? "/";
        return Path.Combine(dir, CloneDiskHandler.TemporaryName(Path.GetFileName(finalPath)));
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a complete copy of <paramref name="source"/> as <see cref="CopyAsync"/> makes
    /// it: the expected format, no backing file, the same virtual size (only a finished copy is ever renamed there).
    /// </summary>
    public static async Task<bool> IsCompleteCopyAsync(QemuImg qemuImg, string path, QemuImgInfo source, string format, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(qemuImg);
        ArgumentNullException.ThrowIfNull(source);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            var info = await qemuImg.InfoAsync(path, cancellationToken: ct).ConfigureAwait(false);
            return info.Format == format && info.BackingFilename is null && info.VirtualSize == source.VirtualSize;
        }
        catch (HostToolException)
        {
            return false;
        }
    }

    /// <summary>Deletes files this request made (a failed request leaves nothing half-made); missing ones are fine.</summary>
    public static void DeleteQuietly(LibvirtConnection connection, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                VmDisks.Delete(connection, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or LibvirtException)
            {
                // Best effort: the failure that brought us here is what the request reports.
            }
        }
    }

    /// <summary>Refreshes every active pool whose directory is one of <paramref name="directories"/>, so libvirt lists new or removed files.</summary>
    public static void RefreshPoolsOf(LibvirtConnection connection, IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var dirs = directories.Select(d => d.TrimEnd('/')).ToHashSet(StringComparer.Ordinal);
        foreach (var pool in connection.ListAllStoragePools())
        {
            using (pool)
            {
                try
                {
                    if (pool.IsActive() && (string?)XElement.Parse(pool.GetXmlDesc()).Element("target")?.Element("path") is { } target &&
                        dirs.Contains(target.TrimEnd('/')))
                    {
                        pool.Refresh();
                    }
                }
                catch (LibvirtException)
                {
                    // A pool that went away meanwhile lists nothing.
                }
            }
        }
    }

    /// <summary>
    /// Points the file disks of <paramref name="domain"/> at new files: <paramref name="files"/> maps a disk target to its
    /// new file and format. The driver type follows the new file and backing chains recorded in the definition are
    /// dropped (the copies are standalone).
    /// </summary>
    public static void RetargetDisks(XElement domain, IReadOnlyDictionary<string, (string Path, string Format)> files)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(files);
        foreach (var disk in domain.Element("devices")?.Elements("disk").ToList() ?? [])
        {
            var target = (string?)disk.Element("target")?.Attribute("dev");
            if (target is null || !files.TryGetValue(target, out var file))
            {
                continue;
            }

            disk.SetAttributeValue("type", "file");
            disk.Element("source")?.Remove();
            disk.Elements("backingStore").Remove();
            var driver = disk.Element("driver");
            if (driver is null)
            {
                driver = new XElement("driver", new XAttribute("name", "qemu"));
                disk.AddFirst(driver);
            }

            driver.SetAttributeValue("type", file.Format);
            driver.AddAfterSelf(new XElement("source", new XAttribute("file", file.Path)));
        }
    }

    /// <summary>
    /// Gives a copied definition its own identity: name, UUID, a MAC per NIC (<paramref name="firstMac"/> for the first
    /// one when given, else derived from the new UUID), new OVN interface ids, no host-side NIC names, its own serial
    /// log file, and no NVRAM file of the source.
    /// </summary>
    public static void Reidentify(XElement domain, string sourceName, string newName, Guid newUuid, string? firstMac)
    {
        ArgumentNullException.ThrowIfNull(domain);
        domain.SetElementValue("name", newName);
        domain.SetElementValue("uuid", newUuid.ToString("D"));
        domain.Element("os")?.Element("nvram")?.Remove();
        var nics = domain.Element("devices")?.Elements("interface").ToList() ?? [];
        for (var i = 0; i < nics.Count; i++)
        {
            var nic = nics[i];
            nic.Element("mac")?.Remove();
            nic.AddFirst(new XElement("mac", new XAttribute("address", i == 0 && firstMac is not null ? firstMac.ToLowerInvariant() : DerivedMac(newUuid, i))));
            nic.Element("target")?.Remove();
            if (nic.Element("virtualport")?.Element("parameters") is { } parameters && parameters.Attribute("interfaceid") is not null)
            {
                parameters.SetAttributeValue("interfaceid", DomainXmlBuilder.NameBasedUuid($"nic:{newUuid:D}:{i}").ToString("D"));
            }
        }

        foreach (var log in domain.Element("devices")?.Elements().Elements("log") ?? [])
        {
            if ((string?)log.Attribute("file") is { } file && Path.GetFileName(file).StartsWith(sourceName + "-", StringComparison.Ordinal))
            {
                log.SetAttributeValue("file", Path.Combine(Path.GetDirectoryName(file) ?? "/", newName + Path.GetFileName(file)[sourceName.Length..]));
            }
        }
    }

    /// <summary>A stable QEMU-style MAC (52:54:00:xx:xx:xx) for NIC <paramref name="index"/> of the domain with <paramref name="uuid"/>.</summary>
    public static string DerivedMac(Guid uuid, int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"copy-mac:{uuid:D}:{index}"));
        return string.Create(CultureInfo.InvariantCulture, $"52:54:00:{hash[0]:x2}:{hash[1]:x2}:{hash[2]:x2}");
    }

    /// <summary>Refuses (LibvirtError) a VM that is not shut off for an operation that copies its disks.</summary>
    public static void RequireShutOff(LibvirtDomain domain, string operation, string vm, string node)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var state = domain.GetState().State;
        if (state != DomainState.Shutoff)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{operation} refused: VM {vm} on node {node} is {PowerStates.Of(state)}; it must be shut off so its disks do not change while " +
                "they are copied. Stop it (stopVM or stopVMForce) and submit the request again; nothing was changed.");
        }
    }
}
