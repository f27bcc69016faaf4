using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>
/// A libvirt call failed. Carries libvirt's own error number and subsystem (<c>virErrorNumber</c>,
/// <c>virErrorDomain</c>) and message. Decide on <see cref="Code"/> (through the <c>Is…</c> helpers, which delegate to
/// <see cref="LibvirtErrorClassifier"/>), never on the message text.
/// </summary>
public sealed class LibvirtException : Exception
{
    public LibvirtException(string function, VirErrorNumber code, VirErrorDomain errorDomain, string libvirtMessage)
        : base($"{function} failed: {libvirtMessage} (libvirt error {code}/{(int)code}, from {errorDomain})")
    {
        Function = function;
        Code = code;
        ErrorDomain = errorDomain;
        LibvirtMessage = libvirtMessage;
    }

    public LibvirtException() : this("libvirt", VirErrorNumber.InternalError, VirErrorDomain.None, "unknown error") { }
    public LibvirtException(string message) : this("libvirt", VirErrorNumber.InternalError, VirErrorDomain.None, message) { }
    public LibvirtException(string message, Exception innerException) : base(message, innerException)
    {
        Function = "libvirt";
        Code = VirErrorNumber.InternalError;
        LibvirtMessage = message;
    }

    /// <summary>The libvirt C function that failed, e.g. <c>virDomainCreateWithFlags</c>.</summary>
    public string Function { get; }
    public VirErrorNumber Code { get; }
    public VirErrorDomain ErrorDomain { get; }
    /// <summary>libvirt's message, for people (logs, status messages); never parsed.</summary>
    public string LibvirtMessage { get; }

    public bool IsNoDomain => LibvirtErrorClassifier.IsNoDomain(Code);
    public bool IsOperationInvalid => LibvirtErrorClassifier.IsOperationInvalid(Code);
    public bool IsNoStoragePool => LibvirtErrorClassifier.IsNoStoragePool(Code);
    public bool IsNoStorageVol => LibvirtErrorClassifier.IsNoStorageVol(Code);
    public bool IsNoSupport => LibvirtErrorClassifier.IsNoSupport(Code);
    public bool IsNotFound => LibvirtErrorClassifier.IsNotFound(Code);
    public bool IsAlreadyExists => LibvirtErrorClassifier.IsAlreadyExists(Code);
    public bool IsInvalidArgument => LibvirtErrorClassifier.IsInvalidArgument(Code);
    public bool IsConnectionFailure => LibvirtErrorClassifier.IsConnectionFailure(Code, ErrorDomain);
    public bool IsRetryable => LibvirtErrorClassifier.IsRetryable(Code, ErrorDomain) || IsPoolBusy;

    /// <summary>virStoragePoolRefresh refused because the pool has a volume job running (another volume being built):
    /// libvirt reports it as an internal error of the storage driver; it passes when the job ends.</summary>
    public bool IsPoolBusy => LibvirtErrorClassifier.IsPoolBusy(Function, Code, ErrorDomain);

    /// <summary>Builds the exception from libvirt's thread-local last error (call right after the failing call, on the
    /// same thread), then resets it. A call that failed without setting an error still gets a truthful message.</summary>
    internal static unsafe LibvirtException FromLastError(string function)
    {
        var err = LibvirtNative.virGetLastError();
        if (err == null)
        {
            return new LibvirtException(function, VirErrorNumber.InternalError, VirErrorDomain.None,
                "the call failed without a libvirt error");
        }
        var ex = new LibvirtException(function, (VirErrorNumber)err->Code, (VirErrorDomain)err->Domain,
            NativeStrings.Borrowed(err->Message) ?? "no message");
        LibvirtNative.virResetLastError();
        return ex;
    }
}

/// <summary>
/// The one place where libvirt errors are classified, by <see cref="VirErrorNumber"/> (and <see cref="VirErrorDomain"/>
/// for transport failures). Handlers ask these questions; nobody matches libvirt's message text.
/// </summary>
public static class LibvirtErrorClassifier
{
    public static bool IsNoDomain(VirErrorNumber code) => code == VirErrorNumber.NoDomain;
    public static bool IsNoStoragePool(VirErrorNumber code) => code == VirErrorNumber.NoStoragePool;
    public static bool IsNoStorageVol(VirErrorNumber code) => code == VirErrorNumber.NoStorageVol;
    public static bool IsNoNetwork(VirErrorNumber code) => code == VirErrorNumber.NoNetwork;
    public static bool IsNoDomainSnapshot(VirErrorNumber code) => code == VirErrorNumber.NoDomainSnapshot;

    /// <summary>The object is in the wrong state for the call: starting a running domain, destroying a stopped one,
    /// suspending a paused one, undefining a domain that still has snapshots.</summary>
    public static bool IsOperationInvalid(VirErrorNumber code) => code == VirErrorNumber.OperationInvalid;

    /// <summary>The driver or hypervisor does not offer the call (e.g. keepalive on a local driver).</summary>
    public static bool IsNoSupport(VirErrorNumber code) =>
        code is VirErrorNumber.NoSupport or VirErrorNumber.OperationUnsupported or VirErrorNumber.ArgumentUnsupported;

    public static bool IsNotFound(VirErrorNumber code) => code is VirErrorNumber.NoDomain or VirErrorNumber.NoStoragePool
        or VirErrorNumber.NoStorageVol or VirErrorNumber.NoNetwork or VirErrorNumber.NoDomainSnapshot
        or VirErrorNumber.NoNodeDevice or VirErrorNumber.NoSecret or VirErrorNumber.NoNwfilter
        or VirErrorNumber.NoInterface or VirErrorNumber.NoDomainCheckpoint;

    /// <summary>Defining something whose name or UUID is taken, or creating a volume that exists.</summary>
    public static bool IsAlreadyExists(VirErrorNumber code) =>
        code is VirErrorNumber.DomExist or VirErrorNumber.StorageVolExist or VirErrorNumber.NetworkExist;

    /// <summary>The caller sent something libvirt rejects (bad XML, bad argument, unsupported configuration).</summary>
    public static bool IsInvalidArgument(VirErrorNumber code) => code is VirErrorNumber.InvalidArg or VirErrorNumber.XmlError
        or VirErrorNumber.XmlDetail or VirErrorNumber.ConfigUnsupported or VirErrorNumber.ArgumentUnsupported;

    /// <summary>The connection to libvirtd is gone or unusable: the RPC layer failed, or the connection object is
    /// closed. A reconnect (which <see cref="LibvirtConnection"/> does by itself) and a retry may succeed.</summary>
    public static bool IsConnectionFailure(VirErrorNumber code, VirErrorDomain domain) =>
        code is VirErrorNumber.NoConnect or VirErrorNumber.InvalidConn or VirErrorNumber.Rpc
            or VirErrorNumber.AuthUnavailable
        || (domain == VirErrorDomain.Rpc && code is VirErrorNumber.SystemError or VirErrorNumber.InternalError);

    /// <summary>
    /// <c>virStoragePoolRefresh</c> failed with an internal error of the storage driver: that is how libvirt refuses to
    /// refresh a pool that has asynchronous jobs running (a volume being created in it right now, e.g. by a concurrent
    /// createDisk), which passes when the job ends. Retrying is safe for the rarer internal errors of a pool scan too: they
    /// fail again and end the request after the runtime's attempts. Decided on function, code and subsystem, not on the text.
    /// </summary>
    public static bool IsPoolBusy(string function, VirErrorNumber code, VirErrorDomain domain) =>
        function == "virStoragePoolRefresh" && code == VirErrorNumber.InternalError && domain == VirErrorDomain.Storage;

    /// <summary>Worth retrying later unchanged: transport failures, a timed-out agent or job, a busy resource.</summary>
    public static bool IsRetryable(VirErrorNumber code, VirErrorDomain domain) =>
        IsConnectionFailure(code, domain)
        || code is VirErrorNumber.OperationTimeout or VirErrorNumber.AgentUnresponsive or VirErrorNumber.ResourceBusy
            or VirErrorNumber.OperationAborted;
}
