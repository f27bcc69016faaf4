using k8s;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>A node other agents can migrate to: its name, its service address and the libvirt URI of its daemon.</summary>
public sealed record MigrationTarget(string NodeName, string Address, string LibvirtUri);

/// <summary>
/// Maps the <c>ip</c> of migrateVM/migrateVMDisk (the target host's service address, docs/decisions.md
/// "migration-target") and the node of a target pool (migrateDisk) to a <see cref="MigrationTarget"/>.
/// </summary>
public interface IMigrationTargets
{
    /// <summary>The node whose published address is <paramref name="ipOrHost"/> (or whose name it is); null when none.</summary>
    Task<MigrationTarget?> FindByAddressAsync(string ipOrHost, CancellationToken cancellationToken);

    /// <summary>The node named <paramref name="node"/>; null when its agent publishes no address.</summary>
    Task<MigrationTarget?> FindByNodeAsync(string node, CancellationToken cancellationToken);
}

/// <summary>
/// Migration targets from the agent heartbeat Leases (<c>kube-node-lease/kubestack-agent-&lt;node&gt;</c>): every agent
/// started with <c>--node-address</c> (the chart passes the node's InternalIP) publishes
/// <see cref="AddressAnnotation"/> and <see cref="MigrationUriAnnotation"/> there (Hosting/NodeHeartbeat.cs).
/// </summary>
public sealed class MigrationTargets(IKubernetes client) : IMigrationTargets
{
    public const string LeaseNamespace = "kube-node-lease";
    public const string LeasePrefix = "kubestack-agent-";
    public const string AddressAnnotation = "kubestack.io/node-address";
    public const string MigrationUriAnnotation = "kubestack.io/libvirt-migration-uri";

    /// <summary>The libvirt URI published for a node: the explicit one, else <c>qemu+tcp://ADDRESS/system</c>.</summary>
    public static string DefaultUri(string address, string? configured = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured.Trim();
        }

        var host = address.Trim();
        return $"qemu+tcp://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}/system";
    }

    /// <summary>Reads one agent Lease; null when it is not one or publishes no address.</summary>
    public static MigrationTarget? Parse(V1Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var name = lease.Metadata?.Name ?? "";
        var annotations = lease.Metadata?.Annotations;
        if (!name.StartsWith(LeasePrefix, StringComparison.Ordinal) || annotations is null
            || !annotations.TryGetValue(AddressAnnotation, out var address) || string.IsNullOrWhiteSpace(address))
        {
            return null;
        }

        annotations.TryGetValue(MigrationUriAnnotation, out var uri);
        return new MigrationTarget(name[LeasePrefix.Length..], address.Trim(), DefaultUri(address, uri));
    }

    public async Task<MigrationTarget?> FindByAddressAsync(string ipOrHost, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ipOrHost);
        var all = await ListAsync(cancellationToken).ConfigureAwait(false);
        return Match(all, ipOrHost);
    }

    public async Task<MigrationTarget?> FindByNodeAsync(string node, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        var all = await ListAsync(cancellationToken).ConfigureAwait(false);
        return all.FirstOrDefault(t => t.NodeName == node);
    }

    /// <summary>The target whose address is <paramref name="ipOrHost"/>, else the one whose node name it is.</summary>
    public static MigrationTarget? Match(IEnumerable<MigrationTarget> targets, string ipOrHost)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var wanted = ipOrHost.Trim();
        var list = targets.ToList();
        return list.FirstOrDefault(t => string.Equals(t.Address, wanted, StringComparison.OrdinalIgnoreCase))
            ?? list.FirstOrDefault(t => string.Equals(t.NodeName, wanted, StringComparison.Ordinal));
    }

    private async Task<IReadOnlyList<MigrationTarget>> ListAsync(CancellationToken ct)
    {
        var leases = await client.CoordinationV1.ListNamespacedLeaseAsync(LeaseNamespace,
            labelSelector: "app.kubernetes.io/component=kubestack-node-agent", cancellationToken: ct).ConfigureAwait(false);
        return leases.Items.Select(Parse).OfType<MigrationTarget>().ToList();
    }
}

/// <summary>A fixed list of targets (tests, and agents configured without Leases).</summary>
public sealed class StaticMigrationTargets(IEnumerable<MigrationTarget> targets) : IMigrationTargets
{
    private readonly IReadOnlyList<MigrationTarget> _targets = [.. targets];

    public Task<MigrationTarget?> FindByAddressAsync(string ipOrHost, CancellationToken cancellationToken) =>
        Task.FromResult(MigrationTargets.Match(_targets, ipOrHost));

    public Task<MigrationTarget?> FindByNodeAsync(string node, CancellationToken cancellationToken) =>
        Task.FromResult(_targets.FirstOrDefault(t => t.NodeName == node));
}

/// <summary>Opening the target host's libvirt and the failures every migration handler reports the same way.</summary>
public static class MigrationSteps
{
    /// <summary>Resolves <c>ip</c> to another node, or throws a <see cref="StorageRefusedException"/> naming the rule.</summary>
    public static async Task<MigrationTarget> RequireTargetAsync(IMigrationTargets targets, string ip, string operation, string node,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var target = await targets.FindByAddressAsync(ip, ct).ConfigureAwait(false) ?? throw new StorageRefusedException(ErrorClasses.VirtctlError,
            $"{operation}.ip: no KubeStack node has the service address or name '{ip}' (agents publish theirs in the " +
            $"{MigrationTargets.AddressAnnotation} annotation of their Lease in {MigrationTargets.LeaseNamespace}); " +
            "check the address, or start the target's agent with --node-address.");
        if (target.NodeName == node)
        {
            throw new StorageRefusedException(ErrorClasses.VirtctlError,
                $"{operation}.ip: '{ip}' is node {node} itself; a migration needs another node as its target.");
        }

        return target;
    }

    /// <summary>
    /// Opens the target's libvirt (a new connection, disposed by the caller). An unreachable target is a LibvirtError
    /// that names the URI and libvirt's words, e.g. "unable to connect to server at '10.77.2.9:16509': No route to host".
    /// </summary>
    public static async Task<LibvirtConnection> OpenTargetAsync(MigrationTarget target, string operation, string node)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            return await Task.Run(() => LibvirtConnection.Open(target.LibvirtUri)).ConfigureAwait(false);
        }
        catch (LibvirtException ex)
        {
            throw new StorageRefusedException(ErrorClasses.LibvirtError,
                $"{operation} on node {node} cannot reach the libvirt daemon of target node {target.NodeName} at {target.LibvirtUri}: " +
                $"{ex.LibvirtMessage}. Nothing was changed; check that libvirtd on {target.NodeName} listens for TCP and is reachable.",
                retryable: false);
        }
    }
}
