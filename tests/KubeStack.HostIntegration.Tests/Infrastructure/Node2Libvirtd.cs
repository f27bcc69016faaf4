using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.HostIntegration.Tests.Infrastructure;

/// <summary>
/// The libvirtd of the lab's second node (component node2 of lab/lab-up.sh: network, mount and UTS namespaces
/// entered through its virtlogd, TCP on 10.77.2.2:16509, PID file /run/kubestack-lab/node2-libvirtd.pid), as a fault
/// target: freeze it, kill it, start it again. Never touches the main qemu:///system daemon: every signal goes to the
/// PID of that PID file, checked to be a libvirtd started with that very file. Starting does what lab-up.sh's
/// node2 component does for libvirtd, inside the namespaces node2's virtlogd still holds (<c>nsenter -t VIRTLOGD -m -u -n
/// libvirtd -d -l -p PIDFILE</c>, an argument array); without a live virtlogd it runs <c>lab/lab-up.sh node2</c>.
/// Tests that use this run in <see cref="LabCollection"/>, so the migration tests (node2's other users) never run
/// at the same time.
/// </summary>
internal static partial class Node2Libvirtd
{
    public const string Uri = "qemu+tcp://10.77.2.2/system";
    private const string RunDir = "/run/kubestack-lab";
    private const int ListenPort = 16509;
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>A libvirt RPC keepalive message (length word + header, no body) is this long; a real call is longer.</summary>
    private const int KeepaliveBytes = 28;

    private static string PidFile => Path.Combine(RunDir, "node2-libvirtd.pid");
    private static string VirtlogdPidFile => Path.Combine(RunDir, "node2-virtlogd.pid");

    /// <summary>How long the last <see cref="StartAsync"/> took until <c>virsh list</c> answered.</summary>
    public static TimeSpan LastStartDuration { get; private set; }

    /// <summary>The live node2 libvirtd's PID, or null when it is not running.</summary>
    public static int? Pid
    {
        get
        {
            if (ReadPid(PidFile) is not { } pid || !IsAlive(pid)) return null;
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            if (!cmdline.Contains("libvirtd", StringComparison.Ordinal) || !cmdline.Contains(PidFile, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"PID {pid} of {PidFile} is not node2's libvirtd ('{cmdline.Trim()}'); refusing to signal it.");
            }

            return pid;
        }
    }

    /// <summary>SIGSTOP: the daemon's sockets stay open, calls sent to it wait in its receive queues.</summary>
    public static int Freeze()
    {
        var pid = Pid ?? throw new InvalidOperationException("node2's libvirtd is not running; nothing to freeze.");
        Signal(pid, SigStop);
        return pid;
    }

    /// <summary>SIGKILL, then waits until the process is dead (its sockets closed).</summary>
    public static void Kill()
    {
        if (Pid is not { } pid) return;
        Signal(pid, SigKill);
        var sw = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException($"node2's libvirtd (PID {pid}) did not die within 10 s of SIGKILL.");
            Thread.Yield();
        }
    }

    /// <summary>
    /// Bytes of RPC calls waiting unread in the (frozen) daemon's established client sockets: more than a keepalive on
    /// one socket means a client is inside a libvirt call, waiting for the reply. Read from /proc/PID/net/tcp, the
    /// daemon's own network namespace.
    /// </summary>
    public static int LargestPendingCall(int pid)
    {
        var largest = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/net/tcp").Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // f[1] local address:port, f[3] state (01 = ESTABLISHED), f[4] tx_queue:rx_queue (hex)
            if (f.Length < 5 || f[3] != "01" || int.Parse(f[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != ListenPort)
            {
                continue;
            }

            var rx = int.Parse(f[4].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (rx > KeepaliveBytes) largest = Math.Max(largest, rx);
        }

        return largest;
    }

    /// <summary>Starts node2's libvirtd when it is not running (as lab-up.sh does) and waits until <c>virsh list</c> answers.</summary>
    public static async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        if (Pid is { } running)
        {
            Signal(running, SigCont); // a frozen daemon left by a failed test
        }
        else if (ReadPid(VirtlogdPidFile) is { } virtlogd && IsAlive(virtlogd))
        {
            File.Delete(PidFile);
            await HostToolRunner.Default.RunAsync("nsenter",
                ["-t", virtlogd.ToString(CultureInfo.InvariantCulture), "-m", "-u", "-n", "--", "libvirtd", "-d", "-l", "-p", PidFile], cancellationToken);
        }
        else
        {
            await HostToolRunner.Default.RunAsync("bash", [Path.Combine(Lifecycle.StorageAgentHarness.RepoRoot, "lab", "lab-up.sh"), "node2"], cancellationToken);
        }

        while (!await AnswersAsync(cancellationToken))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"node2's libvirtd does not answer 'virsh -c {Uri} list' within 60 s.");
            await Task.Delay(50, cancellationToken);
        }

        LastStartDuration = sw.Elapsed;
    }

    /// <summary>Whether <c>virsh -c URI list</c> succeeds.</summary>
    public static async Task<bool> AnswersAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await HostToolRunner.Default.RunAsync("virsh", ["-c", Uri, "list"], cancellationToken);
            return true;
        }
        catch (HostToolException)
        {
            return false;
        }
    }

    private static int? ReadPid(string file)
    {
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Alive and not a zombie (PID 1 here does not reap orphans).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Signal(int pid, int signal)
    {
        if (SysKill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
