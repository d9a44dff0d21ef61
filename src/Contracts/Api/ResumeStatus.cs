using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>
/// What a trainer pod resumed from. The trainer writes it once it has restored a checkpoint (or found none); the
/// operator copies the step into the restart history entry of the restart that started this pod, since the step
/// it knew when it decided the restart (the last reported checkpoint) is not necessarily the one restored.
/// </summary>
[Field("The checkpoint a trainer pod resumed from.")]
public sealed record ResumeStatus
{
    /// <summary>The pod whose trainer resumed.</summary>
    [Field("The pod whose trainer resumed.", MaxLength = 253)]
    public string? PodName { get; init; }

    /// <summary>The step of the checkpoint it restored, 0 when it found none.</summary>
    [Field("Step of the checkpoint restored; 0 when the trainer found none.", Minimum = 0)]
    public int Step { get; init; }

    /// <summary>When it resumed.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When the trainer resumed.", Format = "date-time")]
    public DateTimeOffset? Time { get; init; }
}
