using System.Security.Cryptography;
using System.Xml.Linq;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// Cold storage migration of one volume (migrateVMDisk, migrateDisk; docs/migration.md): the file as stored (a qcow2
/// volume's qcow2 file, byte for byte) goes into a new volume of the target pool through libvirt's upload stream,
/// then the copy is read back from the target host through libvirt's download stream and its SHA-256 compared with the
/// source's. Only a verified copy counts; the caller switches to it and only then removes the source.
/// </summary>
public static class MigrationVolumes
{
    /// <summary>A verified copy on the target: its volume name and path there, size and SHA-256 (hex).</summary>
    public sealed record VerifiedCopy(string Name, string Path, long Bytes, string Sha256, bool Reused);

    /// <summary>
    /// Copies the local file <paramref name="sourcePath"/> (readable by the agent) into <paramref name="targetPool"/> as
    /// volume <paramref name="name"/> and verifies it. A volume of that name already on the target is reused only when
    /// its bytes are the source's (a resumed attempt); any other volume of that name is refused, never overwritten.
    /// A failed or mismatching copy is deleted from the target before the exception leaves.
    /// </summary>
    public static VerifiedCopy CopyAndVerify(string sourcePath, LibvirtStoragePool targetPool, string name, string targetNode,
        string operation, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourcePath);
        ArgumentNullException.ThrowIfNull(targetPool);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var length = new FileInfo(sourcePath).Length;
        var sourceHash = HashFile(sourcePath, ct);
        targetPool.Refresh();
        var existing = targetPool.TryLookupStorageVolByName(name);
        if (existing is not null)
        {
            using (existing)
            {
                var (bytes, hash) = HashVolume(existing, ct);
                if (bytes == length && hash == sourceHash)
                {
                    return new VerifiedCopy(name, existing.GetPath(), bytes, hash, Reused: true);
                }

                throw new StorageRefusedException(ErrorClasses.VirtctlError,
                    $"{operation}: storage pool {targetPool.Name} on node {targetNode} already has a volume named {name} whose content " +
                    "differs from the disk being migrated; it was left untouched and nothing was changed. Remove or rename it first.");
            }
        }

        using var created = targetPool.StorageVolCreateXml(EmptyVolumeXml(name));
        try
        {
            using (var source = File.OpenRead(sourcePath))
            {
                created.Upload(source, (ulong)length, ct);
            }

            var (copied, copiedHash) = HashVolume(created, ct);
            if (copied != length || copiedHash != sourceHash)
            {
                throw new StorageRefusedException(ErrorClasses.Exception,
                    $"{operation}: the copy of {sourcePath} in storage pool {targetPool.Name} on node {targetNode} does not match the source " +
                    $"({copied} bytes, sha256 {copiedHash[..16]}… instead of {length} bytes, sha256 {sourceHash[..16]}…); the copy was deleted " +
                    "and the source is unchanged.");
            }

            var path = created.GetPath();
            targetPool.Refresh();
            return new VerifiedCopy(name, path, copied, copiedHash, Reused: false);
        }
        catch
        {
            TryDelete(created);
            throw;
        }
    }

    /// <summary>SHA-256 (lowercase hex) of a local file.</summary>
    public static string HashFile(string path, CancellationToken ct)
    {
        using var stream = File.OpenRead(path);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            sha.AppendData(buffer, 0, n);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Size and SHA-256 of a volume's bytes as its host reads them (through the download stream).</summary>
    public static (long Bytes, string Sha256) HashVolume(LibvirtStorageVol volume, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(volume);
        using var sink = new HashingSink();
        var bytes = volume.Download(sink, cancellationToken: ct);
        return (bytes, sink.Hex());
    }

    /// <summary>An empty raw volume: the upload gives it the source's bytes, and the pool refresh then probes their format.</summary>
    public static string EmptyVolumeXml(string name) =>
        new XElement("volume",
            new XElement("name", name),
            new XElement("capacity", new XAttribute("unit", "bytes"), 0),
            new XElement("target", new XElement("format", new XAttribute("type", "raw")))).ToString();

    private static void TryDelete(LibvirtStorageVol volume)
    {
        try
        {
            volume.Delete();
        }
        catch (LibvirtException)
        {
            // best effort: the caller's error says what failed; a leftover copy is reported by the next attempt's probe
        }
    }

    /// <summary>A write-only stream that only hashes.</summary>
    private sealed class HashingSink : Stream
    {
        private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public string Hex() => Convert.ToHexStringLower(_sha.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count) => _sha.AppendData(buffer, offset, count);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _sha.Dispose();
            base.Dispose(disposing);
        }
    }
}
