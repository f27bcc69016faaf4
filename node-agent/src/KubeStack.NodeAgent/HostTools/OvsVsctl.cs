namespace KubeStack.NodeAgent.HostTools;

/// <summary>Typed wrapper over <c>ovs-vsctl</c> (Open vSwitch 3.1, default socket /var/run/openvswitch/db.sock).</summary>
public sealed class OvsVsctl(IHostToolRunner runner, string executable = "ovs-vsctl") : OvsdbTool(runner, executable)
{
    public static OvsVsctl Default { get; } = new(HostToolRunner.Default);

    /// <summary>The Bridge row (name, _uuid, datapath_type, ports, external_ids) or null.</summary>
    public async Task<OvsdbRow?> FindBridgeAsync(string name, CancellationToken cancellationToken = default) =>
        (await FindByNameAsync("Bridge", name, ["_uuid", "name", "datapath_type", "ports", "external_ids"], cancellationToken).ConfigureAwait(false))
        .FirstOrDefault();

    /// <summary>Every Port row (name, _uuid, tag, trunks, interfaces, external_ids, qos).</summary>
    public Task<IReadOnlyList<OvsdbRow>> ListPortsAsync(CancellationToken cancellationToken = default) =>
        FindAsync("Port", ["_uuid", "name", "tag", "trunks", "interfaces", "external_ids", "qos"], null, cancellationToken);

    /// <summary>Every Interface row (name, _uuid, type, external_ids, mac_in_use, policing, error).</summary>
    public Task<IReadOnlyList<OvsdbRow>> ListInterfacesAsync(CancellationToken cancellationToken = default) =>
        FindAsync("Interface", ["_uuid", "name", "type", "external_ids", "mac_in_use", "ingress_policing_rate", "ingress_policing_burst", "error"],
            null, cancellationToken);
}
