using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>Checksums, durable writes and the manifest's atomic write/read.</summary>
public static partial class BackupFiles
{
    /// <summary>The temporary name the manifest is written under before the rename.</summary>
    public const string ManifestTemporaryName = ".manifest.json.tmp";

    /// <summary>Lower-case hex SHA-256 of a file, streamed.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 1 << 20, Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
        });
        var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>fsync of a file or directory (open read-only, fsync, close); throws <see cref="IOException"/> on failure.</summary>
    public static void Sync(string path)
    {
        var fd = open(path, ORdOnly | OCloExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {path} to flush it to disk (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (fsync(fd) != 0)
            {
                throw new IOException($"fsync of {path} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// Writes the manifest of <paramref name="versionDirectory"/> the durable way: every data file it lists is flushed, the
    /// JSON goes to <see cref="ManifestTemporaryName"/>, is flushed, renamed over manifest.json, and the directory is
    /// flushed. Until the rename the version has no manifest (partial); after it, it is complete.
    /// </summary>
    public static async Task WriteManifestAsync(string versionDirectory, BackupManifest manifest, CancellationToken cancellationToken = default)
    {
        var json = BackupManifestJson.Serialize(manifest);
        foreach (var disk in manifest.Disks)
        {
            Sync(BackupLayout.FileIn(versionDirectory, disk.File));
        }

        await WriteAtomicAsync($"{versionDirectory}/{BackupManifest.FileName}", json, $"{versionDirectory}/{ManifestTemporaryName}", cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="temporary"/>, flushes it, renames it over <paramref name="path"/> and flushes the directory.</summary>
    public static async Task WriteAtomicAsync(string path, string text, string temporary, CancellationToken cancellationToken = default)
    {
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        Sync(Path.GetDirectoryName(path)!);
    }

    /// <summary>The manifest of a version directory, or null when it has none (a partial version). Throws <see cref="BackupFormatException"/> when it is invalid.</summary>
    public static async Task<BackupManifest?> ReadManifestAsync(string versionDirectory, CancellationToken cancellationToken = default)
    {
        var path = $"{versionDirectory}/{BackupManifest.FileName}";
        if (!File.Exists(path))
        {
            return null;
        }

        var json = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        return BackupManifestJson.Deserialize(json, path, Path.GetFileName(versionDirectory));
    }

    private const int ORdOnly = 0;
    private const int OCloExec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);
}
