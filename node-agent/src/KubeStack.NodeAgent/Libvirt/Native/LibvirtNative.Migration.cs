using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>
/// Domain migration (libvirt-domain.h), the typed-parameter builders it needs (libvirt-common.h) and the streams that
/// copy storage volumes between hosts (libvirt-stream.h, libvirt-storage.h).
/// </summary>
internal static partial class LibvirtNative
{
    /// <summary><c>virDomainPtr virDomainMigrate3(virDomainPtr domain, virConnectPtr dconn, virTypedParameterPtr params, unsigned int nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial DomainHandle virDomainMigrate3(DomainHandle domain, ConnectHandle dconn, IntPtr parameters, uint nparams, uint flags);

    /// <summary><c>int virDomainMigrateToURI3(virDomainPtr domain, const char *dconnuri, virTypedParameterPtr params, unsigned int nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainMigrateToURI3(DomainHandle domain, string? dconnuri, IntPtr parameters, uint nparams, uint flags);

    /// <summary><c>int virTypedParamsAddString(virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, const char *value)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddString(ref IntPtr parameters, ref int nparams, ref int maxparams, string name, string value);

    /// <summary><c>int virTypedParamsAddULLong(virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, unsigned long long value)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddULLong(ref IntPtr parameters, ref int nparams, ref int maxparams, string name, ulong value);

    /// <summary><c>void virTypedParamsFree(virTypedParameterPtr params, int nparams)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial void virTypedParamsFree(IntPtr parameters, int nparams);

    /// <summary><c>virStreamPtr virStreamNew(virConnectPtr conn, unsigned int flags)</c> (flags 0: blocking).</summary>
    [LibraryImport(Library)]
    internal static partial StreamHandle virStreamNew(ConnectHandle conn, uint flags);

    /// <summary><c>int virStreamSend(virStreamPtr st, const char *data, size_t nbytes)</c>.</summary>
    [LibraryImport(Library)]
    internal static unsafe partial int virStreamSend(StreamHandle st, byte* data, nuint nbytes);

    /// <summary><c>int virStreamRecv(virStreamPtr st, char *data, size_t nbytes)</c>: bytes read, 0 at the end.</summary>
    [LibraryImport(Library)]
    internal static unsafe partial int virStreamRecv(StreamHandle st, byte* data, nuint nbytes);

    /// <summary><c>int virStreamFinish(virStreamPtr st)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial int virStreamFinish(StreamHandle st);

    /// <summary><c>int virStreamAbort(virStreamPtr st)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial int virStreamAbort(StreamHandle st);

    /// <summary><c>int virStreamFree(virStreamPtr st)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial int virStreamFree(IntPtr st);

    /// <summary><c>int virStorageVolDownload(virStorageVolPtr vol, virStreamPtr stream, unsigned long long offset, unsigned long long length, unsigned int flags)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial int virStorageVolDownload(StorageVolHandle vol, StreamHandle stream, ulong offset, ulong length, uint flags);

    /// <summary><c>int virStorageVolUpload(virStorageVolPtr vol, virStreamPtr stream, unsigned long long offset, unsigned long long length, unsigned int flags)</c>.</summary>
    [LibraryImport(Library)]
    internal static partial int virStorageVolUpload(StorageVolHandle vol, StreamHandle stream, ulong offset, ulong length, uint flags);
}

/// <summary>A <c>virStreamPtr</c>; released with <c>virStreamFree</c>.</summary>
internal sealed class StreamHandle : SafeHandle
{
    public StreamHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => LibvirtNative.virStreamFree(handle) >= 0;
}
