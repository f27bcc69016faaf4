using System.Xml.Linq;
using KubeStack.NodeAgent.Builders;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// The OVN side of a VM's l3bridge NICs, for the VM handlers (create, plugNIC/unplugNIC, delete) and the VM network
/// operations. The logical switch port is named after the NIC's interfaceid (<c>PlannedNic.InterfaceId</c>: libvirt puts
/// it on the OVS interface as external_ids:iface-id, so ovn-controller binds the port when the VM starts), addresses
/// "MAC IP" (or "MAC dynamic" without a fixed IP: OVN assigns one from the switch's subnet), port security on the same,
/// the switch's DHCPv4 options, and external_ids:kubestack-vm = the domain name.
/// </summary>
public sealed class OvnVmPorts(OvnNbctl ovn, OvsVsctl? ovs)
{
    public OvnVmPorts() : this(OvnNbctl.Default, OvsVsctl.Default)
    {
    }

    /// <summary>OVN only: the OVS QoS rows of removed ports are left to the caller.</summary>
    public OvnVmPorts(OvnNbctl ovn) : this(ovn, null)
    {
    }

    /// <summary>
    /// Makes sure the logical switch port <paramref name="portName"/> exists on <paramref name="switchName"/> with the
    /// MAC and optional IP (one transaction; idempotent: an existing port is updated in place). Throws
    /// <see cref="NetworkRefusedException"/> (VirtctlError) when the switch does not exist or the IP is outside its subnet.
    /// </summary>
    public async Task EnsurePortAsync(string vmName, string switchName, string portName, string mac, string? ip, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vmName);
        ArgumentException.ThrowIfNullOrWhiteSpace(switchName);
        ArgumentException.ThrowIfNullOrWhiteSpace(portName);
        ArgumentException.ThrowIfNullOrWhiteSpace(mac);
        var ls = await ovn.FindSwitchAsync(switchName, cancellationToken).ConfigureAwait(false)
            ?? throw NetworkFailures.Refused($"the OVN logical switch {switchName} of the l3bridge NIC {mac} does not exist; create it with createSwitch first.");
        var dhcp = (await ovn.FindAsync("DHCP_Options", OvnNbctl.DhcpColumns, [NetworkIds.Key(NetworkIds.Switch) + "=" + OvsdbJson.Quote(switchName)], cancellationToken)
            .ConfigureAwait(false)).FirstOrDefault();
        if (ip is not null && ls.Map("other_config").GetValueOrDefault("subnet") is { } cidr)
        {
            var subnet = Ipv4Subnet.Parse(cidr);
            if (!Contracts.Validation.NetworkFormats.TryParseIpv4(ip, out var a) || !subnet.Contains(a))
                throw NetworkFailures.Refused($"the IP {ip} of the l3bridge NIC {mac} is not inside the subnet {cidr} of switch {switchName}.");
        }
        var mine = ls.Set("ports").ToHashSet(StringComparer.Ordinal);
        var existing = (await ovn.FindAsync("Logical_Switch_Port", OvnNbctl.PortColumns, [$"name={OvsdbJson.Quote(portName)}"], cancellationToken).ConfigureAwait(false))
            .FirstOrDefault();
        var cmds = new List<OvsdbCommand>();
        if (existing is not null && !mine.Contains(existing.Uuid))
            cmds.Add(OvsdbCommand.Of("lsp-del", portName));      // on another switch: the NIC moved
        if (existing is null || !mine.Contains(existing.Uuid))
            cmds.Add(OvsdbCommand.Of("lsp-add", switchName, portName));
        var address = $"{mac.ToLowerInvariant()} {ip ?? "dynamic"}";
        cmds.Add(OvsdbCommand.Of("lsp-set-addresses", portName, address));
        cmds.Add(ip is null ? OvsdbCommand.Of("lsp-set-port-security", portName) : OvsdbCommand.Of("lsp-set-port-security", portName, address));
        cmds.Add(OvsdbCommand.Of("set", "Logical_Switch_Port", portName, NetworkIds.Pair(NetworkIds.Vm, vmName)));
        if (dhcp is not null) cmds.Add(OvsdbCommand.Of("lsp-set-dhcpv4-options", portName, dhcp.Uuid));
        await ovn.TransactAsync(cmds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes one port (no error when it is gone) with the ACLs/QoS rules KubeStack attached to it (and its unused OVS linux-htb QoS rows when made with an OvsVsctl).</summary>
    public async Task RemovePortAsync(string portName, CancellationToken cancellationToken = default)
    {
        await RemoveAsync([portName], cancellationToken).ConfigureAwait(false);
        await RemoveOvsQosAsync([portName], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes every logical port of the VM (external_ids:kubestack-vm) and its ACLs/QoS rules; returns their names.</summary>
    public async Task<IReadOnlyList<string>> RemoveVmPortsAsync(string vmName, CancellationToken cancellationToken = default)
    {
        var ports = await ovn.FindAsync("Logical_Switch_Port", ["name"], [NetworkIds.Key(NetworkIds.Vm) + "=" + OvsdbJson.Quote(vmName)], cancellationToken).ConfigureAwait(false);
        var names = ports.Select(p => p.Text("name")!).ToList();
        if (names.Count > 0) await RemoveAsync(names, cancellationToken).ConfigureAwait(false);
        return names;
    }

    /// <summary>The VM's logical ports on a switch (external_ids:kubestack-vm), optionally the one with <paramref name="mac"/>.</summary>
    public async Task<IReadOnlyList<OvsdbRow>> PortsAsync(string switchName, string? vmName, string? mac, CancellationToken cancellationToken = default)
    {
        var ls = await ovn.FindSwitchAsync(switchName, cancellationToken).ConfigureAwait(false);
        if (ls is null) return [];
        var rows = await ovn.RowsAsync("Logical_Switch_Port", ls.Set("ports"), OvnNbctl.PortColumns, cancellationToken).ConfigureAwait(false);
        return rows.Where(r => (r.Text("type") ?? string.Empty).Length == 0)
            .Where(r => vmName is null || r.Map("external_ids").GetValueOrDefault(NetworkIds.Vm) == vmName)
            .Where(r => mac is null || r.Set("addresses").Any(a => a.StartsWith(mac + " ", StringComparison.OrdinalIgnoreCase) || string.Equals(a, mac, StringComparison.OrdinalIgnoreCase)))
            .ToList();
    }

    /// <summary>
    /// VM create: makes the logical port of every l3bridge NIC of the domain (named after its interfaceid, with its MAC
    /// and fixed IP) before the domain starts, so ovn-controller binds it as soon as libvirt adds the interface to
    /// br-int. Returns the ports it made (for <see cref="RemovePortAsync"/> when the start fails). An l3bridge NIC without
    /// <c>switch=</c> or on another bridge than br-int is refused (it would have no bound OVN port and no connectivity). No OVN call without l3bridge NICs.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnsureNicPortsAsync(string vmName, IEnumerable<PlannedNic> nics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nics);
        var l3 = nics.Where(n => n.Type == Contracts.Formats.NicType.L3Bridge).ToList();
        foreach (var nic in l3.Where(n => n.Switch is null || n.InterfaceId is null))
            throw NetworkFailures.Refused($"the l3bridge NIC {nic.Index + 1} ({nic.Mac}) of VM {vmName} names no OVN switch; give switch=<createSwitch name> in its network entry.");
        foreach (var nic in l3.Where(n => n.Bridge != BridgeOperations.IntegrationBridge))
            throw NetworkFailures.Refused($"the l3bridge NIC {nic.Index + 1} ({nic.Mac}) of VM {vmName} plugs into {nic.Bridge}; l3bridge NICs plug into OVN's integration bridge {BridgeOperations.IntegrationBridge} (source={BridgeOperations.IntegrationBridge}), where ovn-controller binds their ports.");
        var made = new List<string>();
        foreach (var nic in l3)
        {
            await EnsurePortAsync(vmName, nic.Switch!, nic.InterfaceId!, nic.Mac, nic.Ip, cancellationToken).ConfigureAwait(false);
            made.Add(nic.InterfaceId!);
        }
        return made;
    }

    /// <summary>
    /// The interfaceids of a domain's l3bridge NICs — the names of its OVN logical ports: the
    /// <c>&lt;virtualport type='openvswitch'&gt;&lt;parameters interfaceid=.../&gt;</c> of the interfaces on OVN's
    /// integration bridge <c>br-int</c> (libvirt also gives l2bridge NICs on other OVS bridges an interfaceid of its own;
    /// those have no OVN port).
    /// </summary>
    public static IReadOnlyList<string> InterfaceIds(string domainXml)
    {
        ArgumentNullException.ThrowIfNull(domainXml);
        var doc = XDocument.Parse(domainXml);
        return doc.Descendants("interface")
            .Where(i => (string?)i.Element("source")?.Attribute("bridge") == BridgeOperations.IntegrationBridge)
            .Elements("virtualport")
            .Where(v => (string?)v.Attribute("type") == "openvswitch")
            .Select(v => (string?)v.Element("parameters")?.Attribute("interfaceid"))
            .OfType<string>().Where(id => id.Length > 0).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// VM delete: removes the logical ports of the domain's l3bridge NICs and every other port of the VM
    /// (external_ids:kubestack-vm), with their ACLs/QoS rules. Returns the removed names; does not call OVN at all when
    /// the domain has no l3bridge NIC (so nodes without OVN are unaffected).
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveDomainPortsAsync(string vmName, string domainXml, CancellationToken cancellationToken = default)
    {
        var ids = InterfaceIds(domainXml);
        if (ids.Count == 0) return [];
        var byVm = await RemoveVmPortsAsync(vmName, cancellationToken).ConfigureAwait(false);
        var rest = ids.Except(byVm, StringComparer.Ordinal).ToList();
        if (rest.Count > 0) await RemoveAsync(rest, cancellationToken).ConfigureAwait(false);
        List<string> removed = [.. byVm, .. rest];
        await RemoveOvsQosAsync(removed, cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// The linux-htb QoS rows setQoS made for these ports (external_ids:kubestack-port) that no OVS port uses any more
    /// (libvirt deleted the VM's tap port; QoS is a root table, so the rows would stay). Best effort: no local OVS is fine.
    /// </summary>
    private async Task RemoveOvsQosAsync(IReadOnlyCollection<string> ports, CancellationToken ct)
    {
        if (ovs is null || ports.Count == 0) return;
        try
        {
            var rows = (await ovs.FindAsync("QoS", ["_uuid", "external_ids"], null, ct).ConfigureAwait(false))
                .Where(q => ports.Contains(q.Map("external_ids").GetValueOrDefault(NetworkIds.Port) ?? string.Empty)).ToList();
            if (rows.Count == 0) return;
            var used = (await ovs.ListPortsAsync(ct).ConfigureAwait(false)).Select(p => p.Text("qos")).OfType<string>().ToHashSet(StringComparer.Ordinal);
            var cmds = rows.Where(q => !used.Contains(q.Uuid)).Select(q => OvsdbCommand.Of("destroy", "QoS", q.Uuid)).ToList();
            if (cmds.Count > 0) await ovs.TransactAsync(cmds, ct).ConfigureAwait(false);
        }
        catch (HostToolException)
        {
            // no Open vSwitch here (or it is down): nothing of ours to tidy
        }
    }

    /// <summary><see cref="RemoveDomainPortsAsync"/> for the synchronous libvirt handlers (deleteVM, the VM finalizer).</summary>
    public IReadOnlyList<string> RemoveDomainPorts(string vmName, string domainXml) =>
        RemoveDomainPortsAsync(vmName, domainXml).ConfigureAwait(false).GetAwaiter().GetResult();

    private async Task RemoveAsync(IReadOnlyList<string> portNames, CancellationToken ct)
    {
        var wanted = portNames.ToHashSet(StringComparer.Ordinal);
        var switches = await ovn.FindAsync("Logical_Switch", ["name", "acls", "qos_rules"], null, ct).ConfigureAwait(false);
        var acls = await ovn.FindAsync("ACL", ["_uuid", "external_ids"], null, ct).ConfigureAwait(false);
        var qos = await ovn.FindAsync("QoS", ["_uuid", "external_ids"], null, ct).ConfigureAwait(false);
        var cmds = new List<OvsdbCommand>();
        foreach (var sw in switches)
        {
            var swAcls = sw.Set("acls").ToHashSet(StringComparer.Ordinal);
            foreach (var a in acls.Where(a => swAcls.Contains(a.Uuid) && wanted.Contains(a.Map("external_ids").GetValueOrDefault(NetworkIds.Port) ?? string.Empty)))
                cmds.Add(OvsdbCommand.Of("remove", "Logical_Switch", sw.Text("name")!, "acls", a.Uuid));
            var swQos = sw.Set("qos_rules").ToHashSet(StringComparer.Ordinal);
            foreach (var q in qos.Where(q => swQos.Contains(q.Uuid) && wanted.Contains(q.Map("external_ids").GetValueOrDefault(NetworkIds.Port) ?? string.Empty)))
                cmds.Add(OvsdbCommand.Of("remove", "Logical_Switch", sw.Text("name")!, "qos_rules", q.Uuid));
        }
        cmds.AddRange(portNames.Select(p => OvsdbCommand.Of("--if-exists", "lsp-del", p)));
        await ovn.TransactAsync(cmds, ct).ConfigureAwait(false);
    }
}
