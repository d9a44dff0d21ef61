using BiT.Operator.Runtime;
using k8s;

namespace BiT.Operator.Hosting;

/// <summary>The operator's API client: the library's client with transient answers retried briefly.</summary>
public static class OperatorClient
{
    public static Kubernetes Create(KubernetesClientConfiguration config, TimeProvider time) =>
        new(config, new TransientRetryHandler(time));
}
