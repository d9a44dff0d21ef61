using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>
/// Either job kind as the operator reads it from the API: metadata, the raw spec (parsed by
/// <see cref="JobSettingsReader"/> and the contracts) and the raw status (read as the contracts' <c>BiTJobStatus</c>).
/// Kept raw so that fields the operator does not own (the trainer's progress) pass through untouched.
/// </summary>
public sealed class BiTJob : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = JobKind.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = JobKind.FineTune.Kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public JsonElement Spec { get; set; }

    [JsonPropertyName("status")]
    public JsonElement? Status { get; set; }
}
