using k8s;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Routing;

/// <summary>Where node heartbeats come from (the API server, or a test's fake).</summary>
public interface INodeDirectory
{
    /// <summary>The agent Leases as last read (refreshed at most every <c>maxAge</c>).</summary>
    Task<IReadOnlyList<NodeInfo>> NodesAsync(CancellationToken cancellationToken);
}

/// <summary>Lists the agent Leases of one namespace, caching the answer for a short time.</summary>
public sealed class LeaseNodeDirectory : INodeDirectory
{
    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<NodeInfo> _nodes = [];
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    public LeaseNodeDirectory(IKubernetes client, string @namespace, TimeSpan maxAge, ILogger logger, TimeProvider? time = null)
    {
        _client = client;
        _namespace = @namespace;
        _maxAge = maxAge;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public async Task<IReadOnlyList<NodeInfo>> NodesAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_time.GetUtcNow() - _readAt < _maxAge)
            {
                return _nodes;
            }

            var list = await _client.CoordinationV1.ListNamespacedLeaseAsync(_namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            _nodes = list.Items.Select(AgentLeases.Parse).OfType<NodeInfo>().ToList();
            _readAt = _time.GetUtcNow();
            return _nodes;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Listing the agent Leases in {Namespace} failed; using the last list ({Count} nodes).", _namespace, _nodes.Count);
            return _nodes;
        }
        finally
        {
            _gate.Release();
        }
    }
}
