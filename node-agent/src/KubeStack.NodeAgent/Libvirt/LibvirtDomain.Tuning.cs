using System.Runtime.InteropServices;
using System.Text;
using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainAuthorizedSSHKeysSetFlags.</summary>
[Flags]
public enum AuthorizedSshKeysFlags : uint { Replace = 0, Append = 1, Remove = 2 }

/// <summary>
/// Disk and NIC QoS (virDomain{Set,Get}BlockIoTune, virDomain{Set,Get}InterfaceParameters) and the guest-agent
/// credential calls (virDomainSetUserPassword, virDomainAuthorizedSSHKeys{Get,Set}). Get calls take exactly one of
/// <see cref="DomainModificationFlags.Live"/> or <see cref="DomainModificationFlags.Config"/> (or Current).
/// </summary>
public sealed unsafe partial class LibvirtDomain
{
    // virTypedParameterType
    private const int TypedUInt = 2;
    private const int TypedULLong = 4;

    /// <summary>virDomainSetBlockIoTune: unsigned long long fields (total_bytes_sec, read_iops_sec, ...).</summary>
    public void SetBlockIoTune(string disk, IReadOnlyDictionary<string, ulong> values, DomainModificationFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        SetTyped(values, TypedULLong, (p, v) => p->ValueULong = v,
            (p, n) => LibvirtNative.virDomainSetBlockIoTune(_handle, disk, p, n, (uint)flags), "virDomainSetBlockIoTune");
    }

    /// <summary>virDomainGetBlockIoTune: every field libvirt reports (numbers as ulong, group_name as string).</summary>
    public IReadOnlyDictionary<string, object> GetBlockIoTune(string disk, DomainModificationFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(disk);
        var n = 0;
        _conn.Check(LibvirtNative.virDomainGetBlockIoTune(_handle, disk, null, ref n, (uint)flags), "virDomainGetBlockIoTune");
        return ReadTyped(n, (p, count) => LibvirtNative.virDomainGetBlockIoTune(_handle, disk, p, ref count, (uint)flags), "virDomainGetBlockIoTune");
    }

    /// <summary>virDomainSetInterfaceParameters: unsigned int bandwidth fields (inbound.average in KiB/s, ...).
    /// <paramref name="device"/> is the NIC's MAC address or its host-side device name.</summary>
    public void SetInterfaceParameters(string device, IReadOnlyDictionary<string, uint> values, DomainModificationFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        SetTyped(values, TypedUInt, (p, v) => p->ValueUInt = v,
            (p, n) => LibvirtNative.virDomainSetInterfaceParameters(_handle, device, p, n, (uint)flags), "virDomainSetInterfaceParameters");
    }

    /// <summary>virDomainGetInterfaceParameters: inbound.average, inbound.peak, ... as libvirt reports them.</summary>
    public IReadOnlyDictionary<string, object> GetInterfaceParameters(string device, DomainModificationFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        var n = 0;
        _conn.Check(LibvirtNative.virDomainGetInterfaceParameters(_handle, device, null, ref n, (uint)flags), "virDomainGetInterfaceParameters");
        return ReadTyped(n, (p, count) => LibvirtNative.virDomainGetInterfaceParameters(_handle, device, p, ref count, (uint)flags), "virDomainGetInterfaceParameters");
    }

    /// <summary>virDomainSetUserPassword through the guest agent. The password is handed to libvirt only: never log it.</summary>
    public void SetUserPassword(string user, string password, bool encrypted = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(password);
        _conn.Check(LibvirtNative.virDomainSetUserPassword(_handle, user, password, encrypted ? 1u : 0u), "virDomainSetUserPassword");
    }

    /// <summary>virDomainAuthorizedSSHKeysGet: the lines of the user's authorized_keys, read by the guest agent.</summary>
    public IReadOnlyList<string> GetAuthorizedSshKeys(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var n = _conn.Check(LibvirtNative.virDomainAuthorizedSSHKeysGet(_handle, user, out var array, 0), "virDomainAuthorizedSSHKeysGet");
        var items = NativeStrings.TakePointerArray(array, n);
        return items.Select(p => NativeStrings.Take(p) ?? string.Empty).ToList();
    }

    /// <summary>virDomainAuthorizedSSHKeysSet: replaces (default), appends to or removes from the user's authorized_keys.</summary>
    public void SetAuthorizedSshKeys(string user, IReadOnlyList<string> keys, AuthorizedSshKeysFlags flags)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(keys);
        var native = new IntPtr[keys.Count];
        try
        {
            for (var i = 0; i < keys.Count; i++) native[i] = Marshal.StringToCoTaskMemUTF8(keys[i]);
            fixed (IntPtr* p = native)
            {
                _conn.Check(LibvirtNative.virDomainAuthorizedSSHKeysSet(_handle, user, p, (uint)keys.Count, (uint)flags), "virDomainAuthorizedSSHKeysSet");
            }
        }
        finally
        {
            foreach (var p in native) Marshal.FreeCoTaskMem(p);
        }
    }

    private static void SetField(VirTypedParameterNative* p, string field, int type)
    {
        var bytes = Encoding.UTF8.GetBytes(field);
        if (bytes.Length >= VirTypedParameterNative.FieldLength)
        {
            throw new ArgumentException($"typed parameter name '{field}' is longer than {VirTypedParameterNative.FieldLength - 1} bytes", nameof(field));
        }

        *p = default;
        for (var i = 0; i < bytes.Length; i++) p->Field[i] = bytes[i];
        p->Type = type;
    }

    private delegate void TypedValueSetter<in T>(VirTypedParameterNative* parameter, T value);

    /// <summary>Builds the typed-parameter array of <paramref name="values"/> (one libvirt type) and hands it to <paramref name="call"/>.</summary>
    private void SetTyped<T>(IReadOnlyDictionary<string, T> values, int type, TypedValueSetter<T> setValue, TypedGetter call, string function)
    {
        ArgumentNullException.ThrowIfNull(values);
        var p = stackalloc VirTypedParameterNative[values.Count];
        var i = 0;
        foreach (var (field, value) in values)
        {
            SetField(&p[i], field, type);
            setValue(&p[i], value);
            i++;
        }

        _conn.Check(call(p, values.Count), function);
    }

    private delegate int TypedGetter(VirTypedParameterNative* parameters, int count);

    /// <summary>Allocates <paramref name="n"/> parameters, lets libvirt fill them, copies them out, and frees everything.</summary>
    private IReadOnlyDictionary<string, object> ReadTyped(int n, TypedGetter get, string function)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        if (n <= 0) return result;
        var p = (VirTypedParameterNative*)NativeMemory.AllocZeroed((nuint)n, (nuint)sizeof(VirTypedParameterNative));
        var filled = 0;
        try
        {
            filled = _conn.Check(get(p, n) < 0 ? -1 : n, function);
            for (var i = 0; i < filled; i++)
            {
                var field = Marshal.PtrToStringUTF8((IntPtr)p[i].Field) ?? string.Empty;
                object? value = p[i].Type switch
                {
                    1 => p[i].ValueInt,
                    2 => p[i].ValueUInt,
                    3 => p[i].ValueLong,
                    4 => p[i].ValueULong,
                    5 => p[i].ValueDouble,
                    6 => p[i].ValueBool != 0,
                    7 => NativeStrings.Borrowed(p[i].ValueString),
                    _ => null,
                };
                if (value is not null && field.Length > 0) result[field] = value;
            }

            return result;
        }
        finally
        {
            LibvirtNative.TuningTypedParamsClear(p, n);
            NativeMemory.Free(p);
        }
    }
}
