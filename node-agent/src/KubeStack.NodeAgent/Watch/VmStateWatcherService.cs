using Microsoft.Extensions.Hosting;

namespace KubeStack.NodeAgent.Watch;

/// <summary>Runs the <see cref="VmStateWatcher"/> for the life of the agent.</summary>
public sealed class VmStateWatcherService(VmStateWatcher watcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => watcher.RunAsync(stoppingToken);
}
