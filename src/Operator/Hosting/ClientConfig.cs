using k8s;
using k8s.Exceptions;

namespace BiT.Operator.Hosting;

/// <summary>Finds the API server: --kubeconfig, else in-cluster, else KUBECONFIG or ~/.kube/config.</summary>
public static class ClientConfig
{
    public static KubernetesClientConfiguration Load(string? kubeconfig, string? context)
    {
        try
        {
            if (kubeconfig is not null)
            {
                if (!File.Exists(kubeconfig))
                {
                    throw new ConfigurationException($"--kubeconfig: file '{kubeconfig}' does not exist");
                }

                return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig, context);
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                return KubernetesClientConfiguration.InClusterConfig();
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigFile((string?)null, context);
        }
        catch (KubeConfigException ex)
        {
            throw new ConfigurationException($"cannot load the Kubernetes configuration: {ex.Message}", ex);
        }
    }
}

/// <summary>The cluster connection could not be configured; the message says which file or setting.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException()
    {
    }

    public ConfigurationException(string message) : base(message)
    {
    }

    public ConfigurationException(string message, Exception inner) : base(message, inner)
    {
    }
}
