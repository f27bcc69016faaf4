using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace KubeStack.NodeAgent.Hosting;

public enum DomainType
{
    /// <summary>Hardware virtualization (production).</summary>
    Kvm,
    /// <summary>QEMU TCG emulation (the host lab: nested KVM guests hang there).</summary>
    Qemu,
}

/// <summary>
/// The agent's settings. Each comes from a command-line switch or an environment variable (the switch wins);
/// invalid values stop the agent at start with a message naming the setting.
/// </summary>
public sealed class AgentOptions
{
    /// <summary>This node's name (--node, NODE_NAME): the agent serves objects labelled host=&lt;node&gt;.</summary>
    public required string NodeName { get; init; }

    /// <summary>kubeconfig path (--kubeconfig, KUBECONFIG); null = in-cluster, else ~/.kube/config.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>libvirt connection URI (--libvirt-uri, KUBESTACK_LIBVIRT_URI).</summary>
    public string LibvirtUri { get; init; } = "qemu:///system";

    /// <summary>Domain type used when a request does not say (--domain-type, KUBESTACK_DOMAIN_TYPE): kvm or qemu.</summary>
    public DomainType DomainType { get; init; } = DomainType.Kvm;

    /// <summary>Objects processed in parallel (--workers, KUBESTACK_WORKERS). 16: a request is ~5 sequential API round trips, so
    /// 4 workers capped a node at ~20 requests/s (docs/performance.md: 1,000 requests took 53 s with 4, 15 s with 16).</summary>
    public int Workers { get; init; } = 16;

    /// <summary>Starts of one submission before it is failed for good (KUBESTACK_MAX_ATTEMPTS).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Periodic re-enqueue of pending objects (KUBESTACK_RESYNC_SECONDS).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>First retry delay after a failure (KUBESTACK_RETRY_BASE_MS).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>JSON logs (KUBESTACK_LOG_FORMAT=json) or readable text (default).</summary>
    public bool JsonLogs { get; init; }

    /// <summary>QEMU binary written into every domain (--qemu-emulator, KUBESTACK_QEMU_EMULATOR).</summary>
    public string Emulator { get; init; } = "/usr/bin/qemu-system-x86_64";

    /// <summary>Machine type of new domains (--machine, KUBESTACK_MACHINE): pc or q35.</summary>
    public string Machine { get; init; } = "pc";

    /// <summary>When set, each VM's serial console is also logged to DIR/NAME-serial.log (--serial-log-dir, KUBESTACK_SERIAL_LOG_DIR).</summary>
    public string? SerialLogDirectory { get; init; }

    /// <summary>How long stopVM waits for the guest to power off after the ACPI request before it fails (KUBESTACK_VM_STOP_TIMEOUT_SECONDS).</summary>
    public TimeSpan VmStopTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Period of the VM resync that compares every VM's views with libvirt (KUBESTACK_VM_RESYNC_SECONDS).</summary>
    public TimeSpan VmResyncPeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// This node's service address (--node-address, KUBESTACK_NODE_ADDRESS; the chart passes the node's InternalIP,
    /// status.hostIP): published in the agent Lease so that migrateVM/migrateVMDisk can map their <c>ip</c> to this node.
    /// </summary>
    public string? NodeAddress { get; init; }

    /// <summary>
    /// The libvirt URI other agents migrate to (--migration-uri, KUBESTACK_MIGRATION_URI); default
    /// qemu+tcp://&lt;NodeAddress&gt;/system. Published in the agent Lease (docs/migration.md).
    /// </summary>
    public string? MigrationUri { get; init; }

    /// <summary>
    /// Pass VIR_MIGRATE_UNSAFE on live migrations (KUBESTACK_MIGRATION_UNSAFE=true): only where the disks are on storage
    /// both hosts see coherently but libvirt cannot recognise as shared (the host lab's two daemons on one file system).
    /// </summary>
    public bool MigrationAllowUnsafe { get; init; }

    public static AgentOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var node = First(configuration, "node", "NODE_NAME");
        if (string.IsNullOrWhiteSpace(node))
        {
            throw new ArgumentException("The node name is missing: pass --node <name> or set NODE_NAME (the agent serves objects labelled host=<name>).");
        }

        var domainText = First(configuration, "domain-type", "KUBESTACK_DOMAIN_TYPE") ?? "kvm";
        var domainType = domainText.ToLowerInvariant() switch
        {
            "kvm" => DomainType.Kvm,
            "qemu" => DomainType.Qemu,
            _ => throw new ArgumentException($"--domain-type / KUBESTACK_DOMAIN_TYPE must be kvm or qemu, not '{domainText}'."),
        };
        var logFormat = First(configuration, "log-format", "KUBESTACK_LOG_FORMAT") ?? "text";
        if (logFormat is not ("json" or "text"))
        {
            throw new ArgumentException($"--log-format / KUBESTACK_LOG_FORMAT must be json or text, not '{logFormat}'.");
        }

        var kubeconfig = First(configuration, "kubeconfig", "KUBECONFIG");
        return new AgentOptions
        {
            NodeName = node.Trim(),
            Kubeconfig = string.IsNullOrWhiteSpace(kubeconfig) ? null : kubeconfig.Split(Path.PathSeparator)[0],
            LibvirtUri = First(configuration, "libvirt-uri", "KUBESTACK_LIBVIRT_URI") ?? "qemu:///system",
            DomainType = domainType,
            Workers = Int(configuration, 1, 64, 16, "workers", "KUBESTACK_WORKERS"),
            MaxAttempts = Int(configuration, 1, 100, 5, "max-attempts", "KUBESTACK_MAX_ATTEMPTS"),
            ResyncPeriod = TimeSpan.FromSeconds(Int(configuration, 1, 86_400, 600, "resync-seconds", "KUBESTACK_RESYNC_SECONDS")),
            RetryBaseDelay = TimeSpan.FromMilliseconds(Int(configuration, 1, 60_000, 500, "retry-base-ms", "KUBESTACK_RETRY_BASE_MS")),
            JsonLogs = logFormat == "json",
            Emulator = First(configuration, "qemu-emulator", "KUBESTACK_QEMU_EMULATOR") ?? "/usr/bin/qemu-system-x86_64",
            Machine = MachineType(First(configuration, "machine", "KUBESTACK_MACHINE") ?? "pc"),
            SerialLogDirectory = First(configuration, "serial-log-dir", "KUBESTACK_SERIAL_LOG_DIR"),
            VmStopTimeout = TimeSpan.FromSeconds(Int(configuration, 1, 3_600, 60, "vm-stop-timeout-seconds", "KUBESTACK_VM_STOP_TIMEOUT_SECONDS")),
            VmResyncPeriod = TimeSpan.FromSeconds(Int(configuration, 1, 86_400, 60, "vm-resync-seconds", "KUBESTACK_VM_RESYNC_SECONDS")),
            NodeAddress = First(configuration, "node-address", "KUBESTACK_NODE_ADDRESS"),
            MigrationUri = First(configuration, "migration-uri", "KUBESTACK_MIGRATION_URI"),
            MigrationAllowUnsafe = (First(configuration, "migration-unsafe", "KUBESTACK_MIGRATION_UNSAFE") ?? "false").ToLowerInvariant() switch
            {
                "true" => true,
                "false" => false,
                var other => throw new ArgumentException($"--migration-unsafe / KUBESTACK_MIGRATION_UNSAFE must be true or false, not '{other}'."),
            },
        };
    }

    private static string MachineType(string text) => text is "pc" or "q35"
        ? text
        : throw new ArgumentException($"--machine / KUBESTACK_MACHINE must be pc or q35, not '{text}'.");

    private static string? First(IConfiguration configuration, params string[] keys) =>
        keys.Select(k => configuration[k]).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private static int Int(IConfiguration configuration, int min, int max, int fallback, params string[] keys)
    {
        var text = First(configuration, keys);
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ArgumentException($"--{keys[0]} / {keys[1]} must be an integer from {min} to {max}, not '{text}'.");
        }

        return value;
    }
}
