using System.Runtime.InteropServices;

namespace KubeStack.NodeAgent.Libvirt.Native;

/// <summary>String and array ownership rules of libvirt, in one place.</summary>
internal static unsafe class NativeStrings
{
    /// <summary>VIR_UUID_STRING_BUFLEN: 36 characters and the terminating NUL.</summary>
    internal const int UuidStringBufLen = 37;

    /// <summary>A <c>const char*</c> owned by libvirt (e.g. <c>virDomainGetName</c>): copied, never freed.</summary>
    internal static string? Borrowed(IntPtr p) => p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);

    /// <summary>A <c>char*</c> the caller owns (e.g. <c>virDomainGetXMLDesc</c>): copied, then released with libc free.</summary>
    internal static string? Take(IntPtr p)
    {
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { Libc.free(p); }
    }

    /// <summary>Copies the elements of a libvirt-allocated array of object pointers, then frees the array itself with libc
    /// free. The caller owns each element (wrap it in its SafeHandle at once).</summary>
    internal static IntPtr[] TakePointerArray(IntPtr array, int count)
    {
        if (array == IntPtr.Zero) return [];
        try
        {
            var items = new IntPtr[count];
            for (var i = 0; i < count; i++) items[i] = Marshal.ReadIntPtr(array, i * IntPtr.Size);
            return items;
        }
        finally { Libc.free(array); }
    }

    internal static string ReadUuid(byte* buffer) => Marshal.PtrToStringUTF8((IntPtr)buffer) ?? string.Empty;
}
