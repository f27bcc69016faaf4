using System.Xml.Linq;
using KubeStack.NodeAgent.HostTools;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// The Open vSwitch QoS and Queue rows libvirt makes for a VM's OVS NIC with a <c>&lt;bandwidth&gt;</c> limit (tuneNICQoS,
/// inbound/outbound at create or plugNIC): one linux-htb QoS (the port's <c>qos</c> column) and its Queue, both with
/// <c>external_ids:vm-id</c> = the domain's UUID and <c>ifname</c> = the tap. QoS and Queue are root tables, and libvirt
/// 9.0 removes only the port when the NIC is unplugged or the domain stops, so the rows would stay for ever (and a new
/// pair appears on every start). <see cref="RemoveLeftoversAsync"/> removes the rows of ONE VM (its vm-id) that no
/// port uses any more, with their queues: a live NIC's rows (referenced by its port) and every other VM's rows are
/// never touched. Idempotent: nothing left is success (a resumed attempt finds nothing).
/// </summary>
public sealed class OvsNicQos(OvsVsctl ovs)
{
    /// <summary>The external_ids key libvirt writes with the domain's UUID.</summary>
    public const string VmIdKey = "vm-id";

    /// <summary>The external_ids key libvirt writes with the tap's name.</summary>
    public const string IfNameKey = "ifname";

    private static readonly string[] QosColumns = ["_uuid", "external_ids", "queues"];
    private static readonly string[] QueueColumns = ["_uuid", "external_ids"];

    public OvsNicQos() : this(OvsVsctl.Default)
    {
    }

    /// <summary>What <see cref="RemoveLeftoversAsync"/> removed.</summary>
    public sealed record Removed(IReadOnlyList<string> Qos, IReadOnlyList<string> Queues)
    {
        public static Removed None { get; } = new([], []);

        public int Count => Qos.Count + Queues.Count;

        /// <summary>For a result message: empty when nothing was removed.</summary>
        public string Describe() => Count == 0 ? string.Empty
            : $" {Qos.Count} Open vSwitch QoS and {Queues.Count} Queue row(s) libvirt left for its removed port(s) were deleted.";
    }

    /// <summary>True when the domain XML has a NIC with <c>&lt;virtualport type='openvswitch'/&gt;</c> (the only NICs that get such rows).</summary>
    public static bool HasOvsNic(string domainXml)
    {
        ArgumentNullException.ThrowIfNull(domainXml);
        return XDocument.Parse(domainXml).Descendants("interface").Elements("virtualport")
            .Any(v => (string?)v.Attribute("type") == "openvswitch");
    }

    /// <summary>
    /// The commands (one transaction) that delete the VM's QoS rows no port references and the Queue rows that only
    /// they (or nothing) reference, among rows of that VM (external_ids:vm-id = <paramref name="vmId"/>). Pure.
    /// </summary>
    public static (IReadOnlyList<OvsdbCommand> Commands, Removed Removed) Plan(Guid vmId, IReadOnlyList<OvsdbRow> qos,
        IReadOnlyList<OvsdbRow> queues, IReadOnlyList<OvsdbRow> ports)
    {
        ArgumentNullException.ThrowIfNull(qos);
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(ports);
        var mine = qos.Where(q => Owns(q, vmId)).ToList();
        var used = ports.Select(p => p.Text("qos")).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var deadQos = mine.Where(q => !used.Contains(q.Uuid)).ToList();
        var dead = deadQos.Select(q => q.Uuid).ToHashSet(StringComparer.Ordinal);
        // a queue stays while a surviving QoS row references it
        var kept = qos.Where(q => !dead.Contains(q.Uuid)).SelectMany(q => q.Map("queues").Values).ToHashSet(StringComparer.Ordinal);
        var ofDead = deadQos.SelectMany(q => q.Map("queues").Values).ToHashSet(StringComparer.Ordinal);
        var deadQueues = queues.Where(q => (Owns(q, vmId) || ofDead.Contains(q.Uuid)) && !kept.Contains(q.Uuid)).Select(q => q.Uuid).ToList();
        var cmds = new List<OvsdbCommand>();
        if (dead.Count > 0) cmds.Add(new OvsdbCommand(["--if-exists", "destroy", "QoS", .. deadQos.Select(q => q.Uuid)]));
        if (deadQueues.Count > 0) cmds.Add(new OvsdbCommand(["--if-exists", "destroy", "Queue", .. deadQueues]));
        return (cmds, new Removed(deadQos.Select(q => q.Uuid).ToList(), deadQueues));
    }

    /// <summary>
    /// Deletes the QoS/Queue rows of VM <paramref name="vmId"/> that no OVS port uses any more (one transaction).
    /// Throws <see cref="HostToolException"/> when ovs-vsctl fails.
    /// </summary>
    public async Task<Removed> RemoveLeftoversAsync(Guid vmId, CancellationToken cancellationToken = default)
    {
        var byVm = new[] { $"external_ids:{VmIdKey}={OvsdbJson.Quote(vmId.ToString("D"))}" };
        var qos = await ovs.FindAsync("QoS", QosColumns, byVm, cancellationToken).ConfigureAwait(false);
        var queues = await ovs.FindAsync("Queue", QueueColumns, byVm, cancellationToken).ConfigureAwait(false);
        if (qos.Count == 0 && queues.Count == 0) return Removed.None;
        var ports = await ovs.FindAsync("Port", ["_uuid", "qos"], null, cancellationToken).ConfigureAwait(false);
        var (commands, removed) = Plan(vmId, qos, queues, ports);
        if (commands.Count > 0) await ovs.TransactAsync(commands, cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// For deleteVM and the VM finalizer (synchronous handlers): removes the VM's leftovers when one of its domain XMLs
    /// (the definition, and the live XML read before a power-off) has an OVS NIC — a failing ovs-vsctl then throws
    /// <see cref="HostToolException"/> (the request is retried); without an OVS NIC Open vSwitch is not called at all.
    /// </summary>
    public Removed RemoveLeftovers(Guid vmId, params string?[] domainXmls)
    {
        ArgumentNullException.ThrowIfNull(domainXmls);
        return domainXmls.OfType<string>().Any(HasOvsNic)
            ? RemoveLeftoversAsync(vmId).ConfigureAwait(false).GetAwaiter().GetResult()
            : Removed.None;
    }

    private static bool Owns(OvsdbRow row, Guid vmId) =>
        row.Map("external_ids").GetValueOrDefault(VmIdKey) is { } id && Guid.TryParse(id, out var g) && g == vmId;
}
