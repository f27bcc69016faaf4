using k8s;
using KubeStack.Operator.Observability;
using KubeStack.Runtime.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Hosting;

/// <summary>Builds and runs the operator's generic host (Program.cs only calls <see cref="RunAsync"/>).</summary>
public static class OperatorHost
{
    public const string Component = "kubestack-operator";

    /// <summary>Runs the operator; returns the exit code (2 for a configuration error).</summary>
    public static Task<int> RunAsync(string[] args) => ComponentHost.RunAsync(Component, () => Build(args));

    public static IHost Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        var options = OperatorOptions.FromConfiguration(builder.Configuration);
        builder.Logging.ClearProviders();
        builder.Services.AddConsoleLogging(options.JsonLogs);
        var kubernetes = new Kubernetes(KubernetesConnection.Configuration(options.Kubeconfig, "operator"));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(kubernetes);
        builder.Services.AddSingleton(sp => new OperatorRuntime(kubernetes, options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<OperatorService>();
        builder.Services.AddOperatorTelemetry(builder.Configuration); // /metrics and request traces (docs/metrics.md)
        return builder.Build();
    }
}

/// <summary>Starts the webhook, then campaigns for leadership; a failure of either stops the process (exit code 1).</summary>
internal sealed class OperatorService : BackgroundService
{
    private readonly OperatorRuntime _runtime;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<OperatorService> _logger;

    public OperatorService(OperatorRuntime runtime, IHostApplicationLifetime lifetime, ILogger<OperatorService> logger)
    {
        _runtime = runtime;
        _lifetime = lifetime;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _runtime.StartWebhookAsync(stoppingToken).ConfigureAwait(false);
            await _runtime.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "The operator stopped on an error.");
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
        }
        finally
        {
            await _runtime.DisposeAsync().ConfigureAwait(false);
        }
    }
}
