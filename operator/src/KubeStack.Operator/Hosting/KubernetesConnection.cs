using k8s;
using k8s.Exceptions;

namespace KubeStack.Operator.Hosting;

/// <summary>The operator's one Kubernetes client: kubeconfig file when given, else in-cluster, else ~/.kube/config.</summary>
public static class KubernetesConnection
{
    public static KubernetesClientConfiguration Configuration(string? kubeconfig)
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

        throw new ArgumentException("No Kubernetes API to talk to: pass --kubeconfig <file>, set KUBECONFIG, or run the operator in a cluster.");
    }

    /// <summary>A plain-http server without credentials (the API emulator, kubectl proxy) is built by hand: the client refuses it.</summary>
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
