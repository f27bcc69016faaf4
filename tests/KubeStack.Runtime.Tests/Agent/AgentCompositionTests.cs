using KubeStack.Contracts.Catalog;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace KubeStack.Runtime.Tests.Agent;

/// <summary>
/// The agent's real composition root: every handler, cleanup and reader found in the agent assembly must be
/// constructible from the services AgentHost registers, or the agent would die at start on a real node.
/// </summary>
public sealed class AgentCompositionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kst-compose-").FullName;

    [Fact]
    public void Every_handler_of_the_agent_assembly_resolves_from_the_agent_host()
    {
        var kubeconfig = Path.Combine(_dir, "kubeconfig");
        File.WriteAllText(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
            contexts: [{name: c, context: {cluster: c, user: u}}]
            users: [{name: u, user: {}}]
            current-context: c
            """);
        using var host = AgentHost.Build(["--node", "compose-node", "--kubeconfig", kubeconfig, "--domain-type", "qemu"]);

        var registry = host.Services.GetRequiredService<HandlerRegistry>();

        var expected = HandlerRegistration.HandlerTypes(typeof(AgentHost).Assembly)
            .Where(t => typeof(ILifecycleHandler).IsAssignableFrom(t)).Count();
        Assert.Equal(expected, registry.Operations.Count);
        var catalog = CatalogLoader.Default;
        Assert.All(registry.Operations, op => Assert.NotNull(catalog.Find(op.Kind, op.Key)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
