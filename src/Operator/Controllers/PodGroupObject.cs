using System.Text.Json.Serialization;
using BiT.Operator.Api;
using k8s;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// A gang scheduler's PodGroup (the scheduler-plugins coscheduling plugin's scheduling.x-k8s.io/v1alpha1 or
/// Volcano's scheduling.volcano.sh/v1beta1): both take <c>spec.minMember</c>, the pods placed all or nothing.
/// </summary>
public sealed class PodGroupObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "PodGroup";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public PodGroupSpec Spec { get; set; } = new();

    /// <summary>The group and version of the kind's PodGroup API.</summary>
    public static (string ApiVersion, string Group) Api(PodGroupKind kind) => kind switch
    {
        PodGroupKind.Coscheduling => ("scheduling.x-k8s.io/v1alpha1", "scheduling.x-k8s.io"),
        PodGroupKind.Volcano => ("scheduling.volcano.sh/v1beta1", "scheduling.volcano.sh"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no PodGroup API"),
    };
}
