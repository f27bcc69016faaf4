using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

public sealed partial class LibvirtStorageVol
{
    private const int TransferChunk = 256 * 1024;

    /// <summary>
    /// virStorageVolDownload over a blocking virStream: writes the volume's bytes (the file as stored: a qcow2 volume's
    /// qcow2 file) from <paramref name="offset"/> into <paramref name="destination"/>; <paramref name="length"/> 0 means
    /// to the end. Works on remote connections (the bytes come through libvirtd). Returns the number of bytes copied.
    /// </summary>
    public unsafe long Download(Stream destination, ulong offset = 0, ulong length = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var stream = _conn.CheckHandle(LibvirtNative.virStreamNew(_conn.Handle, 0), "virStreamNew");
        _conn.Check(LibvirtNative.virStorageVolDownload(Handle, stream, offset, length, 0), "virStorageVolDownload");
        var buffer = new byte[TransferChunk];
        long total = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n;
                fixed (byte* p = buffer)
                {
                    n = LibvirtNative.virStreamRecv(stream, p, (nuint)buffer.Length);
                }

                if (n < 0) throw _conn.Fail("virStreamRecv");
                if (n == 0) break;
                destination.Write(buffer, 0, n);
                total += n;
            }

            _conn.Check(LibvirtNative.virStreamFinish(stream), "virStreamFinish");
            return total;
        }
        catch
        {
            _ = LibvirtNative.virStreamAbort(stream);
            LibvirtNative.virResetLastError();
            throw;
        }
    }

    /// <summary>
    /// virStorageVolUpload over a blocking virStream: writes <paramref name="length"/> bytes of <paramref name="source"/>
    /// into the volume from offset 0 (replacing the file's bytes as stored). Works on remote connections.
    /// </summary>
    public unsafe void Upload(Stream source, ulong length, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var stream = _conn.CheckHandle(LibvirtNative.virStreamNew(_conn.Handle, 0), "virStreamNew");
        _conn.Check(LibvirtNative.virStorageVolUpload(Handle, stream, 0, length, 0), "virStorageVolUpload");
        var buffer = new byte[TransferChunk];
        ulong sent = 0;
        try
        {
            while (sent < length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var want = (int)Math.Min((ulong)buffer.Length, length - sent);
                var read = source.Read(buffer, 0, want);
                if (read == 0)
                {
                    throw new EndOfStreamException($"the upload source ended after {sent} of {length} bytes");
                }

                var offset = 0;
                while (offset < read)
                {
                    int n;
                    fixed (byte* p = &buffer[offset])
                    {
                        n = LibvirtNative.virStreamSend(stream, p, (nuint)(read - offset));
                    }

                    if (n < 0) throw _conn.Fail("virStreamSend");
                    offset += n;
                }

                sent += (ulong)read;
            }

            _conn.Check(LibvirtNative.virStreamFinish(stream), "virStreamFinish");
        }
        catch
        {
            _ = LibvirtNative.virStreamAbort(stream);
            LibvirtNative.virResetLastError();
            throw;
        }
    }
}
