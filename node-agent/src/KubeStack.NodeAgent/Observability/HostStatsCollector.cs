using System.Diagnostics.Metrics;
using System.Globalization;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.Common;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Observability;

/// <summary>
/// Per-VM, per-pool and libvirt-connection instruments (meter <see cref="MeterName"/>), read from libvirt when
/// Prometheus scrapes: one <c>virConnectGetAllDomainStats</c> call (and one pool listing) per scrape, shared by every
/// instrument of that scrape and cached for <see cref="MinInterval"/> so concurrent or repeated scrapes never multiply
/// the calls. No process is spawned and nothing is sampled over a window: libvirt's counters are exported as counters
/// (rates are Prometheus' job). The connection is never opened here: before the first request opens it the gauges say
/// disconnected and no VM series exist.
/// </summary>
public sealed partial class HostStatsCollector : IDisposable
{
    public const string MeterName = "KubeStack.NodeAgent.Host";

    private const DomainStatsTypes Wanted = DomainStatsTypes.State | DomainStatsTypes.CpuTotal | DomainStatsTypes.Balloon
        | DomainStatsTypes.Vcpu | DomainStatsTypes.Interface | DomainStatsTypes.Block;

    private readonly Func<LibvirtConnection?> _connection;
    private readonly string _node;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Meter _meter = new(MeterName);
    private readonly Lock _gate = new();
    private HostStats? _last;
    private long _collections;

    public HostStatsCollector(LibvirtHost libvirt, string node, ILogger<HostStatsCollector> logger, TimeProvider? time = null)
        : this(() => libvirt.CurrentOrNull, node, logger, time)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
    }

    /// <summary>Reads through <paramref name="connection"/> (null = not connected).</summary>
    public HostStatsCollector(Func<LibvirtConnection?> connection, string node, ILogger<HostStatsCollector> logger, TimeProvider? time = null)
    {
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
        _node = node ?? throw new ArgumentNullException(nameof(node));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        CreateInstruments();
    }

    /// <summary>Scrapes within this interval share one libvirt read.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many bulk reads were made (tests: one per scrape).</summary>
    public long Collections => Interlocked.Read(ref _collections);

    /// <summary>The host's statistics, read again when the last read is older than <see cref="MinInterval"/>.</summary>
    public HostStats Current()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_last is { } last && now - last.At < MinInterval)
            {
                return last;
            }

            _last = Collect(now);
            return _last;
        }
    }

    private HostStats Collect(DateTimeOffset now)
    {
        var connection = _connection();
        if (connection is null || !connection.IsConnected)
        {
            return new HostStats(now, false, [], []);
        }

        try
        {
            Interlocked.Increment(ref _collections);
            var domains = connection.GetAllDomainStats(Wanted, ListAllDomainsFlags.Active);
            var pools = new List<PoolStats>();
            foreach (var pool in connection.ListAllStoragePools(ListAllStoragePoolsFlags.Active))
            {
                using (pool)
                {
                    var info = pool.GetInfo();
                    pools.Add(new PoolStats(pool.Name, info.Capacity, info.Allocation, info.Available));
                }
            }

            return new HostStats(now, true, domains, pools);
        }
        catch (LibvirtException ex)
        {
            LogCollectFailed(ex.Message);
            return new HostStats(now, connection.IsConnected, [], []);
        }
    }

    private void CreateInstruments()
    {
        _meter.CreateObservableGauge("kubestack_agent_libvirt_connected", () => new Measurement<int>(Current().Connected ? 1 : 0, Node()),
            unit: "{connection}", description: "1 when the agent's libvirt connection is open and alive, else 0.");

        Counter("kubestack_vm_cpu_time_seconds_total", "s", "CPU time used by the VM (all vCPUs, guest and emulator).",
            r => Value(r, "cpu.time") is { } ns ? ns / 1e9 : null);
        Gauge("kubestack_vm_vcpus", "{vcpu}", "vCPUs currently online in the VM.", r => Value(r, "vcpu.current"));
        Gauge("kubestack_vm_memory_balloon_bytes", "By", "Memory the balloon currently gives the guest.", r => KiB(r, "balloon.current"));
        Gauge("kubestack_vm_memory_rss_bytes", "By", "Resident memory of the VM's QEMU process on the host.", r => KiB(r, "balloon.rss"));
        Gauge("kubestack_vm_memory_available_bytes", "By", "Memory the guest reports as available to it (needs the guest's balloon driver).",
            r => KiB(r, "balloon.available"));
        Gauge("kubestack_vm_memory_usable_bytes", "By", "Memory the guest reports as usable without swapping (needs the guest's balloon driver).",
            r => KiB(r, "balloon.usable"));

        Devices("kubestack_vm_disk_read_bytes_total", "By", "Bytes read by the VM from the disk.", "block", "device", "rd.bytes");
        Devices("kubestack_vm_disk_write_bytes_total", "By", "Bytes written by the VM to the disk.", "block", "device", "wr.bytes");
        Devices("kubestack_vm_disk_read_ops_total", "{operation}", "Read operations of the VM on the disk.", "block", "device", "rd.reqs");
        Devices("kubestack_vm_disk_write_ops_total", "{operation}", "Write operations of the VM on the disk.", "block", "device", "wr.reqs");
        foreach (var (direction, prefix) in new[] { ("receive", "rx"), ("transmit", "tx") })
        {
            Devices($"kubestack_vm_network_{direction}_bytes_total", "By", $"Bytes the VM's interface {direction}d.", "net", "interface", $"{prefix}.bytes");
            Devices($"kubestack_vm_network_{direction}_packets_total", "{packet}", $"Packets the VM's interface {direction}d.", "net", "interface", $"{prefix}.pkts");
            Devices($"kubestack_vm_network_{direction}_errors_total", "{packet}", $"Packets with errors on {direction} on the VM's interface.", "net", "interface", $"{prefix}.errs");
            Devices($"kubestack_vm_network_{direction}_drops_total", "{packet}", $"Packets dropped on {direction} on the VM's interface.", "net", "interface", $"{prefix}.drop");
        }

        PoolGauge("kubestack_pool_capacity_bytes", "Capacity of the storage pool.", p => p.Capacity);
        PoolGauge("kubestack_pool_allocation_bytes", "Bytes allocated in the storage pool.", p => p.Allocation);
        PoolGauge("kubestack_pool_available_bytes", "Bytes still free in the storage pool.", p => p.Available);
    }

    private void Counter(string name, string unit, string description, Func<DomainStatsRecord, double?> read) =>
        _meter.CreateObservableCounter(name, () => PerVm(read), unit, description);

    private void Gauge(string name, string unit, string description, Func<DomainStatsRecord, double?> read) =>
        _meter.CreateObservableGauge(name, () => PerVm(read), unit, description);

    private IEnumerable<Measurement<double>> PerVm(Func<DomainStatsRecord, double?> read)
    {
        foreach (var record in Current().Domains)
        {
            if (read(record) is { } value)
            {
                yield return new Measurement<double>(value, Node(), new("vm", record.Name));
            }
        }
    }

    /// <summary>Per block device or NIC: libvirt's <c>&lt;group&gt;.count</c> and <c>&lt;group&gt;.&lt;i&gt;.name</c>.</summary>
    private void Devices(string name, string unit, string description, string group, string label, string field) =>
        _meter.CreateObservableCounter(name, () => PerDevice(group, label, field), unit, description);

    private IEnumerable<Measurement<double>> PerDevice(string group, string label, string field)
    {
        foreach (var record in Current().Domains)
        {
            var count = Value(record, $"{group}.count") ?? 0;
            for (var i = 0; i < count; i++)
            {
                var prefix = string.Create(CultureInfo.InvariantCulture, $"{group}.{i}.");
                if (record.Values.TryGetValue(prefix + "name", out var device) && device is string deviceName && Value(record, prefix + field) is { } value)
                {
                    yield return new Measurement<double>(value, Node(), new("vm", record.Name), new(label, deviceName));
                }
            }
        }
    }

    private void PoolGauge(string name, string description, Func<PoolStats, ulong> read) =>
        _meter.CreateObservableGauge(name, () => Current().Pools.Select(p => new Measurement<double>(read(p), Node(), new("pool", p.Name))),
            "By", description);

    private KeyValuePair<string, object?> Node() => new("node", _node);

    private static double? KiB(DomainStatsRecord record, string field) => Value(record, field) * 1024;

    /// <summary>A numeric typed parameter of the record, or null when libvirt did not report it.</summary>
    internal static double? Value(DomainStatsRecord record, string field) =>
        record.Values.TryGetValue(field, out var value)
            ? value switch
            {
                ulong u => u,
                long l => l,
                uint u => u,
                int i => i,
                double d => d,
                _ => null,
            }
            : null;

    public void Dispose() => _meter.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the host statistics from libvirt failed (metrics of this scrape are empty): {Message}")]
    private partial void LogCollectFailed(string message);
}

/// <summary>One read of the host: the domains' bulk statistics and the active pools.</summary>
public sealed record HostStats(DateTimeOffset At, bool Connected, IReadOnlyList<DomainStatsRecord> Domains, IReadOnlyList<PoolStats> Pools);

/// <summary>virStoragePoolGetInfo of one active pool.</summary>
public sealed record PoolStats(string Name, ulong Capacity, ulong Allocation, ulong Available);
