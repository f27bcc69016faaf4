using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Hosting;

/// <summary>Runs the controller for the host's lifetime; if it dies, the process stops with exit code 1 (the kubelet restarts it).</summary>
public sealed partial class AgentService(AgentController controller, IHostApplicationLifetime lifetime, AgentOptions options,
    HandlerRegistry registry, ILogger<AgentService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarting(options.NodeName, registry.Operations.Count, options.Workers, options.DomainType, options.LibvirtUri);
        try
        {
            await controller.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogCrashed(ex);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "kubestack-node-agent on node {Node}: {Operations} operations implemented, {Workers} workers, domain type {DomainType}, libvirt {LibvirtUri}.")]
    private partial void LogStarting(string node, int operations, int workers, DomainType domainType, string libvirtUri);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The agent's controller stopped with an error; exiting so the kubelet restarts the agent.")]
    private partial void LogCrashed(Exception exception);
}
