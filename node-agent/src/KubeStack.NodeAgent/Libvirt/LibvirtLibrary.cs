using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>
/// Process-wide libvirt setup, done once before the first connection: <c>virInitialize</c>, a silent error handler
/// (libvirt's default one prints every error on stderr; ours are reported through <see cref="LibvirtException"/>),
/// <c>virEventRegisterDefaultImpl</c> (must precede the first <c>virConnectOpen</c>, or keepalive, close callbacks and
/// domain events never fire) and the dedicated thread that loops <c>virEventRunDefaultImpl</c>. Every libvirt callback
/// runs on that thread, so callbacks only enqueue.
/// </summary>
public static unsafe class LibvirtLibrary
{
    private static readonly Lock Gate = new();
    private static bool _initialized;
    private static Thread? _eventLoop;
    private static long _eventLoopErrors;

    /// <summary>Whether libvirt.so.0 can be loaded here; <paramref name="reason"/> says why not.</summary>
    public static bool IsAvailable(out string? reason)
    {
        if (NativeLibrary.TryLoad(LibvirtNative.Library, out var lib))
        {
            NativeLibrary.Free(lib);
            reason = null;
            return true;
        }
        reason = $"{LibvirtNative.Library} cannot be loaded (install the Debian package libvirt0, e.g. with lab/lab-up.sh)";
        return false;
    }

    /// <summary>The libvirt library version as major*1,000,000 + minor*1,000 + release.</summary>
    public static ulong Version
    {
        get
        {
            EnsureInitialized();
            if (LibvirtNative.virGetVersion(out var v, IntPtr.Zero, IntPtr.Zero) < 0) throw LibvirtException.FromLastError("virGetVersion");
            return v.Value;
        }
    }

    /// <summary>Failed iterations of the event loop so far (each is retried after a short pause).</summary>
    public static long EventLoopErrors => Interlocked.Read(ref _eventLoopErrors);

    internal static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized) return;
            if (LibvirtNative.virInitialize() < 0) throw LibvirtException.FromLastError("virInitialize");
            LibvirtNative.virSetErrorFunc(IntPtr.Zero, (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&SilentErrorHandler);
            if (LibvirtNative.virEventRegisterDefaultImpl() < 0) throw LibvirtException.FromLastError("virEventRegisterDefaultImpl");
            _eventLoop = new Thread(RunEventLoop) { IsBackground = true, Name = "libvirt-event-loop" };
            _eventLoop.Start();
            _initialized = true;
        }
    }

    private static void RunEventLoop()
    {
        while (true)
        {
            if (LibvirtNative.virEventRunDefaultImpl() < 0)
            {
                // virEventRunDefaultImpl only fails when poll() itself fails; keep the loop alive, but do not spin
                LibvirtNative.virResetLastError();
                Interlocked.Increment(ref _eventLoopErrors);
                Thread.Sleep(100);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SilentErrorHandler(IntPtr userData, IntPtr error) { }
}
