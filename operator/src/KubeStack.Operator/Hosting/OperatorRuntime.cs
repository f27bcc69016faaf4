using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Operator.Controllers;
using KubeStack.Operator.Routing;
using KubeStack.Operator.Webhooks;
using KubeStack.Runtime.Events;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Hosting;

/// <summary>
/// One operator replica: the admission webhook (every replica) and the request controller (only the leader).
/// Used by the host and, in-process, by the tests.
/// </summary>
public sealed class OperatorRuntime : IAsyncDisposable
{
    private readonly Kubernetes _client;
    private readonly OperatorOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly LifecycleCatalog _catalog;
    private readonly ILogger _logger;
    private ICertificateSource? _certificates;
    private long _controllerAccepted;

    public OperatorRuntime(Kubernetes client, OperatorOptions options, ILoggerFactory loggerFactory, LifecycleCatalog? catalog = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _loggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        _catalog = catalog ?? CatalogLoader.Default;
        _logger = loggerFactory.CreateLogger<OperatorRuntime>();
        Leader = new LeaderGate(client, options, loggerFactory.CreateLogger<LeaderGate>());
        var leader = Leader;
        Observability.OperatorTelemetry.TrackLeader(() => leader.IsLeader);
    }

    public LeaderGate Leader { get; }

    public WebhookServer? Webhook { get; private set; }

    /// <summary>The PEM of the CA the webhook configuration must trust (caBundle), when known.</summary>
    public string? CaBundlePem => _certificates?.CaBundlePem;

    /// <summary>Requests this replica's controllers marked Accepted, over all its terms as leader.</summary>
    public long AcceptedCount => Interlocked.Read(ref _controllerAccepted);

    /// <summary>Starts the webhook (when enabled) and returns; <see cref="RunAsync"/> then runs the leader-elected controller.</summary>
    public async Task StartWebhookAsync(CancellationToken cancellationToken)
    {
        if (!_options.WebhookEnabled)
        {
            return;
        }

        _certificates = _options.WebhookDevCertificate
            ? new SelfSignedCertificateSource(_options.WebhookDevNames)
            : new FileCertificateSource(_options.WebhookCertFile!, _options.WebhookKeyFile!, null, _loggerFactory.CreateLogger<FileCertificateSource>());
        if (_options.WebhookDevCertificate)
        {
            if (_options.WebhookDevCaOut is { } path)
            {
                await File.WriteAllTextAsync(path, _certificates.CaBundlePem, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Development webhook CA written to {Path} (use it base64-encoded as the caBundle).", path);
            }
            else
            {
                _logger.LogInformation("Development webhook CA (caBundle, PEM):\n{Ca}", _certificates.CaBundlePem);
            }
        }

        var handler = new AdmissionHandler(new RequestChecks(_catalog, new ApiResourceLookup(_client, _catalog)), _loggerFactory.CreateLogger<AdmissionHandler>());
        Webhook = await WebhookServer.StartAsync(handler, _certificates, _options.WebhookAddress, _options.WebhookPort, _loggerFactory, cancellationToken)
            .ConfigureAwait(false);
        _logger.LogInformation("Admission webhook serving on {Url}", new Uri(Webhook.Address, WebhookServer.ValidatePath));
    }

    /// <summary>Campaigns for the leader Lease and runs the controller while leading, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!_options.ControllerEnabled)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }

        var events = new EventRecorder(_client, RequestController.Component, _options.Identity, _loggerFactory.CreateLogger<EventRecorder>());
        var nodes = new LeaseNodeDirectory(_client, _options.AgentLeaseNamespace, TimeSpan.FromSeconds(1), _loggerFactory.CreateLogger<LeaseNodeDirectory>());
        await Leader.RunAsync(async ct =>
        {
            var controller = RequestController.Create(_client, _catalog, nodes, events, new RequestControllerOptions
            {
                Workers = _options.Workers,
                NodeTimeout = _options.NodeTimeout,
                LivenessCheckPeriod = _options.LivenessCheckPeriod,
            }, _loggerFactory);
            try
            {
                await controller.RunAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Add(ref _controllerAccepted, controller.AcceptedCount);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Webhook is not null)
        {
            await Webhook.DisposeAsync().ConfigureAwait(false);
        }

        (_certificates as IDisposable)?.Dispose();
    }
}
