using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Infrastructure;

/// <summary>Probes once (lazily) what this machine offers; the [LibvirtFact]/[LabFact]/[QemuImgFact] attributes skip
/// with the reason when something is missing. The lab is brought up by lab/lab-up.sh (hack/test.sh runs it).</summary>
public static class LabEnvironment
{
    public const string SystemUri = "qemu:///system";
    public const string TestUri = "test:///default";
    public const string StateDir = "/var/lib/kubestack-lab";
    public const string LibvirtSocket = "/run/libvirt/libvirt-sock";

    public static string Kernel => Path.Combine(StateDir, "vmlinuz");
    public static string Initrd => Path.Combine(StateDir, "initrd.gz");
    public static string Iso => Path.Combine(StateDir, "lab.iso");

    private static readonly Lazy<string?> LibvirtMissing = new(() => LibvirtLibrary.IsAvailable(out var reason) ? null : reason);

    private static readonly Lazy<string?> LabMissing = new(() =>
    {
        if (LibvirtMissing.Value is { } r) return r;
        if (!File.Exists(LibvirtSocket)) return $"the host lab is not up: {LibvirtSocket} is missing (run lab/lab-up.sh)";
        if (!File.Exists(Path.Combine(StateDir, "guest.ready")) || !File.Exists(Kernel) || !File.Exists(Initrd))
        {
            return $"the lab guest is not built: {StateDir}/guest.ready, vmlinuz or initrd.gz missing (run lab/lab-up.sh)";
        }
        try
        {
            using var c = LibvirtConnection.Open(SystemUri);
            _ = c.GetLibVersion();
            return null;
        }
        catch (LibvirtException ex)
        {
            return $"libvirtd does not answer on {SystemUri}: {ex.Message} (run lab/lab-up.sh)";
        }
    });

    private static readonly Lazy<string?> QemuImgMissing = new(() =>
    {
        try
        {
            HostToolRunner.Default.RunAsync("qemu-img", ["--version"], CancellationToken.None).GetAwaiter().GetResult();
            return null;
        }
        catch (HostToolException ex)
        {
            return $"qemu-img is not usable here ({ex.Message}); install qemu-utils (lab/lab-up.sh does)";
        }
    });

    public static string? WhyNoLibvirt => LibvirtMissing.Value;
    public static string? WhyNoLab => LabMissing.Value;
    public static string? WhyNoQemuImg => QemuImgMissing.Value;

    /// <summary>A unique name with the prefix lab/lab-down.sh --purge recognises.</summary>
    public static string UniqueName(string what) => $"kst-{what}-{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>Runs when libvirt.so.0 loads (the test:///default driver needs no daemon).</summary>
public sealed class LibvirtFactAttribute : FactAttribute
{
    public LibvirtFactAttribute() { if (LabEnvironment.WhyNoLibvirt is { } r) Skip = r; }
}

/// <summary>Runs when the host lab is up: libvirtd answers on qemu:///system and the lab guest is built.</summary>
public sealed class LabFactAttribute : FactAttribute
{
    public LabFactAttribute() { if (LabEnvironment.WhyNoLab is { } r) Skip = r; }
}

/// <summary>Runs when qemu-img is installed.</summary>
public sealed class QemuImgFactAttribute : FactAttribute
{
    public QemuImgFactAttribute() { if (LabEnvironment.WhyNoQemuImg is { } r) Skip = r; }
}

/// <summary>Tests that use the shared libvirtd run one after another (the reconnect test kicks this process's clients).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "host lab (qemu:///system)";
}
