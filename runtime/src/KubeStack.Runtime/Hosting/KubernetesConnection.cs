using k8s;
using k8s.Exceptions;

namespace KubeStack.Runtime.Hosting;

/// <summary>Builds the one Kubernetes client a component (agent, operator) uses: a new client per call is an anti-pattern.</summary>
public static class KubernetesConnection
{
    /// <summary>From the kubeconfig file when given, else in-cluster, else ~/.kube/config.</summary>
    public static KubernetesClientConfiguration Configuration(string? kubeconfig, string component = "component")
    {
        if (!string.IsNullOrWhiteSpace(kubeconfig))
        {
            if (!File.Exists(kubeconfig))
            {
                throw new ArgumentException($"The kubeconfig file {kubeconfig} (--kubeconfig / KUBECONFIG) does not exist.");
            }

            return FromFile(kubeconfig);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (File.Exists(home))
        {
            return FromFile(home);
        }

        throw new ArgumentException($"No Kubernetes API to talk to: pass --kubeconfig <file>, set KUBECONFIG, or run the {component} in a cluster.");
    }

    /// <summary>
    /// The client refuses a context whose user has no credentials; a plain-http server without authentication
    /// (the API emulator, <c>kubectl proxy</c>) legitimately has none, so that case is built by hand.
    /// </summary>
    private static KubernetesClientConfiguration FromFile(string path)
    {
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        catch (KubeConfigException)
        {
            var config = KubernetesClientConfiguration.LoadKubeConfig(path);
            var context = config.Contexts?.FirstOrDefault(c => c.Name == config.CurrentContext);
            var cluster = config.Clusters?.FirstOrDefault(c => c.Name == context?.ContextDetails?.Cluster);
            var server = cluster?.ClusterEndpoint?.Server;
            if (server is not null && server.StartsWith("http://", StringComparison.Ordinal))
            {
                return new KubernetesClientConfiguration { Host = server, Namespace = context?.ContextDetails?.Namespace };
            }

            throw;
        }
    }
}
