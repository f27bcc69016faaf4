namespace KubeStack.NodeAgent.HostTools;

/// <summary>Typed wrapper over <c>ovn-nbctl</c> (OVN 23.03, default socket /var/run/ovn/ovnnb_db.sock).</summary>
public sealed class OvnNbctl(IHostToolRunner runner, string executable = "ovn-nbctl") : OvsdbTool(runner, executable)
{
    public static OvnNbctl Default { get; } = new(HostToolRunner.Default);

    public static readonly string[] SwitchColumns = ["_uuid", "name", "ports", "acls", "qos_rules", "other_config", "external_ids"];
    public static readonly string[] PortColumns = ["_uuid", "name", "type", "addresses", "tag", "options", "dhcpv4_options", "external_ids", "up"];
    public static readonly string[] AclColumns = ["_uuid", "direction", "priority", "match", "action", "external_ids"];
    public static readonly string[] QosColumns = ["_uuid", "direction", "priority", "match", "bandwidth", "action", "external_ids"];
    public static readonly string[] RouterColumns = ["_uuid", "name", "ports", "nat", "static_routes", "external_ids"];
    public static readonly string[] RouterPortColumns = ["_uuid", "name", "mac", "networks", "gateway_chassis", "external_ids"];
    public static readonly string[] NatColumns = ["_uuid", "type", "external_ip", "logical_ip", "logical_port", "external_ids"];
    public static readonly string[] DhcpColumns = ["_uuid", "cidr", "options", "external_ids"];
    public static readonly string[] AddressSetColumns = ["_uuid", "name", "addresses", "external_ids"];

    public async Task<OvsdbRow?> FindSwitchAsync(string name, CancellationToken cancellationToken = default) =>
        (await FindByNameAsync("Logical_Switch", name, SwitchColumns, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public async Task<OvsdbRow?> FindRouterAsync(string name, CancellationToken cancellationToken = default) =>
        (await FindByNameAsync("Logical_Router", name, RouterColumns, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    public async Task<OvsdbRow?> FindAddressSetAsync(string name, CancellationToken cancellationToken = default) =>
        (await FindByNameAsync("Address_Set", name, AddressSetColumns, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>Rows of <paramref name="table"/> whose _uuid is in <paramref name="uuids"/> (one listing, filtered here).</summary>
    public async Task<IReadOnlyList<OvsdbRow>> RowsAsync(string table, IReadOnlyCollection<string> uuids, IReadOnlyCollection<string> columns,
        CancellationToken cancellationToken = default)
    {
        if (uuids.Count == 0) return [];
        var wanted = uuids.ToHashSet(StringComparer.Ordinal);
        var all = await FindAsync(table, columns.Contains("_uuid") ? columns : [.. columns, "_uuid"], null, cancellationToken).ConfigureAwait(false);
        return all.Where(r => wanted.Contains(r.Uuid)).ToList();
    }
}
