using k8s;

namespace KubeStack.NodeAgent.Hosting;

/// <summary>Builds the one Kubernetes client the agent uses (a new client per call is an anti-pattern).</summary>
public static class KubernetesConnection
{
    /// <summary>From the kubeconfig file when given, else in-cluster, else ~/.kube/config.</summary>
    public static KubernetesClientConfiguration Configuration(string? kubeconfig)
    {
        if (!string.IsNullOrWhiteSpace(kubeconfig))
        {
            if (!File.Exists(kubeconfig))
            {
                throw new ArgumentException($"The kubeconfig file {kubeconfig} (--kubeconfig / KUBECONFIG) does not exist.");
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (File.Exists(home))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(home);
        }

        throw new ArgumentException("No Kubernetes API to talk to: pass --kubeconfig <file>, set KUBECONFIG, or run the agent in a cluster.");
    }
}
