using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Hosting;

/// <summary>
/// Runs <c>leaderWork</c> only while this replica holds the coordination.k8s.io/v1 Lease (KubernetesClient's
/// LeaderElector with a LeaseLock). Losing the Lease cancels the work; the replica then campaigns again. A replica
/// that stops renewing is replaced within LeaseDuration + RetryPeriod.
/// </summary>
public sealed class LeaderGate
{
    private readonly IKubernetes _client;
    private readonly OperatorOptions _options;
    private readonly ILogger _logger;
    private volatile bool _leading;

    public LeaderGate(IKubernetes client, OperatorOptions options, ILogger<LeaderGate> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
    }

    public bool IsLeader => _leading;

    /// <summary>Raised when this replica becomes leader (for tests and metrics).</summary>
    public event Action? StartedLeading;

    public async Task RunAsync(Func<CancellationToken, Task> leaderWork, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leaderWork);
        await EnsureNamespaceAsync(cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            var lease = new LeaseLock(_client, _options.LeaderNamespace, _options.LeaderLease, _options.Identity);
            var config = new LeaderElectionConfig(lease)
            {
                LeaseDuration = _options.LeaseDuration,
                RenewDeadline = _options.RenewDeadline,
                RetryPeriod = _options.RetryPeriod,
            };
            using var elector = new LeaderElector(config);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task? work = null;
            elector.OnStartedLeading += () =>
            {
                _leading = true;
                _logger.LogInformation("{Identity} is the leader (Lease {Namespace}/{Lease}); starting the controller.", _options.Identity, _options.LeaderNamespace, _options.LeaderLease);
                StartedLeading?.Invoke();
                work = Task.Run(() => leaderWork(leading.Token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () =>
            {
                _leading = false;
                _logger.LogWarning("{Identity} lost the leader Lease; stopping the controller.", _options.Identity);
                leading.Cancel();
            };
            elector.OnNewLeader += leader => _logger.LogInformation("The leader is {Leader}.", leader);
            try
            {
                await elector.RunUntilLeadershipLostAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Leader election failed; campaigning again.");
            }
            finally
            {
                _leading = false;
                await leading.CancelAsync().ConfigureAwait(false);
                if (work is not null)
                {
                    try
                    {
                        await work.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }

            if (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(_options.RetryPeriod, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task EnsureNamespaceAsync(CancellationToken ct)
    {
        try
        {
            await _client.CoreV1.ReadNamespaceAsync(_options.LeaderNamespace, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"The leader Lease namespace {_options.LeaderNamespace} does not exist (--leader-namespace / POD_NAMESPACE).", ex);
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            // No permission to read namespaces: the LeaseLock reports real problems itself.
        }
    }
}
