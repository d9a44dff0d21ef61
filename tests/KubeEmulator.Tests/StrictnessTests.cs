using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>What a real API server refuses and operators get wrong: the emulator refuses it too, so tests catch it.</summary>
public sealed class StrictnessTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private readonly k8s.Kubernetes _client = fx.Server.CreateClient();

    private static V1Pod Pod(string name, Action<V1Pod> edit)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox:1" }] },
        };
        edit(pod);
        return pod;
    }

    public static TheoryData<string, string> Pods() => new()
    {
        { "duplicate-mounts", "must be unique" },
        { "negative-cpu", "must be greater than or equal to 0" },
        { "negative-memory", "must be greater than or equal to 0" },
        { "node-selector-key", "name part must consist of" },
        { "toleration-key", "name part must consist of" },
        { "toleration-key-prefix", "prefix part must be a lowercase RFC 1123 subdomain" },
    };

    private static Action<V1Pod> Edit(string name) => name switch
    {
        "duplicate-mounts" => p =>
        {
            p.Spec.Volumes = [new V1Volume { Name = "a", EmptyDir = new V1EmptyDirVolumeSource() }, new V1Volume { Name = "b", EmptyDir = new V1EmptyDirVolumeSource() }];
            p.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "a", MountPath = "/data" }, new V1VolumeMount { Name = "b", MountPath = "/data" }];
        },
        "negative-cpu" => p => p.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("-2") } },
        "negative-memory" => p => p.Spec.Containers[0].Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("-1Gi") } },
        "node-selector-key" => p => p.Spec.NodeSelector = new Dictionary<string, string> { ["bad key"] = "x" },
        "toleration-key" => p => p.Spec.Tolerations = [new V1Toleration { Key = "gpu key", OperatorProperty = "Exists" }],
        "toleration-key-prefix" => p => p.Spec.Tolerations = [new V1Toleration { Key = "Example.COM/gpu", OperatorProperty = "Exists" }],
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Pods))]
    public async Task A_pod_a_real_api_server_refuses_is_refused_with_422(string name, string message)
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "strict");
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.CreateNamespacedPodAsync(Pod(name, Edit(name)), ns));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains(message, e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Annotations_over_256_KiB_are_refused_and_up_to_it_accepted()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "annot");
        var big = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "big", Annotations = new Dictionary<string, string> { ["a"] = new string('x', 1 << 20) } } };
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(big, ns));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("may not be more than 262144 bytes", e.Response.Content, StringComparison.Ordinal);
        var fits = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "fits", Annotations = new Dictionary<string, string> { ["a"] = new string('x', (256 * 1024) - 1) } } };
        await _client.CoreV1.CreateNamespacedConfigMapAsync(fits, ns);
    }

    [Fact]
    public async Task A_valid_pod_with_prefixed_keys_is_accepted()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "ok");
        var pod = Pod("ok", p =>
        {
            p.Spec.NodeSelector = new Dictionary<string, string> { ["nvidia.com/gpu.product"] = "H100" };
            p.Spec.Tolerations = [new V1Toleration { Key = "nvidia.com/gpu", OperatorProperty = "Exists" }];
            p.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m") } };
        });
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
    }
}
