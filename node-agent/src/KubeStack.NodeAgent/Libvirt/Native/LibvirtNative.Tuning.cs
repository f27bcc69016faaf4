using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>
/// Disk and NIC QoS (libvirt-domain.h: block I/O tuning, interface bandwidth) and the guest-agent credential calls
/// (virDomainSetUserPassword, virDomainAuthorizedSSHKeys*). The typed-parameter arrays are allocated by the caller
/// (<see cref="VirTypedParameterNative"/>, 96 bytes each); strings libvirt puts into them are released with
/// virTypedParamsClear.
/// </summary>
internal static unsafe partial class LibvirtNative
{
    /// <summary><c>int virDomainSetBlockIoTune(virDomainPtr dom, const char *disk, virTypedParameterPtr params, int nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetBlockIoTune(DomainHandle dom, string disk, VirTypedParameterNative* parameters, int nparams, uint flags);

    /// <summary><c>int virDomainGetBlockIoTune(virDomainPtr dom, const char *disk, virTypedParameterPtr params, int *nparams, unsigned int flags)</c>
    /// (params NULL and *nparams 0: returns the count in *nparams).</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainGetBlockIoTune(DomainHandle dom, string disk, VirTypedParameterNative* parameters, ref int nparams, uint flags);

    /// <summary><c>int virDomainSetInterfaceParameters(virDomainPtr dom, const char *device, virTypedParameterPtr params, int nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetInterfaceParameters(DomainHandle dom, string device, VirTypedParameterNative* parameters, int nparams, uint flags);

    /// <summary><c>int virDomainGetInterfaceParameters(virDomainPtr dom, const char *device, virTypedParameterPtr params, int *nparams, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainGetInterfaceParameters(DomainHandle dom, string device, VirTypedParameterNative* parameters, ref int nparams, uint flags);

    /// <summary><c>void virTypedParamsClear(virTypedParameterPtr params, int nparams)</c>: frees the strings inside, not the array.</summary>
    [LibraryImport(Library, EntryPoint = "virTypedParamsClear")]
    internal static partial void TuningTypedParamsClear(VirTypedParameterNative* parameters, int nparams);

    /// <summary><c>int virDomainSetUserPassword(virDomainPtr dom, const char *user, const char *password, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetUserPassword(DomainHandle dom, string user, string password, uint flags);

    /// <summary><c>int virDomainAuthorizedSSHKeysGet(virDomainPtr domain, const char *user, char ***keys, unsigned int flags)</c>:
    /// the caller frees each string and the array.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainAuthorizedSSHKeysGet(DomainHandle domain, string user, out IntPtr keys, uint flags);

    /// <summary><c>int virDomainAuthorizedSSHKeysSet(virDomainPtr domain, const char *user, const char **keys, unsigned int nkeys, unsigned int flags)</c>.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainAuthorizedSSHKeysSet(DomainHandle domain, string user, IntPtr* keys, uint nkeys, uint flags);
}
