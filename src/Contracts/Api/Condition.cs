using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>metav1.Condition.</summary>
[Field("A metav1.Condition.")]
public sealed record Condition
{
    /// <summary>Condition type (see <see cref="ConditionTypes"/>).</summary>
    [Field("Type: Validated, Running, Stalled, Restarting, Suspended, Succeeded, Failed, ResourcesReleased, Ready or Reconciling.", Required = true, MaxLength = 316,
        Pattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")]
    public string Type { get; init; } = "";

    /// <summary>"True", "False" or "Unknown" (see <see cref="ConditionStatus"/>).</summary>
    [Field("True, False or Unknown.", Required = true, Pattern = "^(True|False|Unknown)$", PatternHint = "True, False or Unknown")]
    public string Status { get; init; } = ConditionStatus.Unknown;

    /// <summary>The generation the condition was computed from.</summary>
    [Field("metadata.generation the condition was set from.", Minimum = 0)]
    public long? ObservedGeneration { get; init; }

    /// <summary>When the status last changed.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When status last changed.", Required = true, Format = "date-time")]
    public DateTimeOffset LastTransitionTime { get; init; }

    /// <summary>CamelCase reason.</summary>
    [Field("CamelCase reason.", Required = true, MinLength = 1, MaxLength = 1024, Pattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    public string Reason { get; init; } = "";

    /// <summary>Human message.</summary>
    [Field("Human-readable details.", MaxLength = 32_768)]
    public string? Message { get; init; }
}

/// <summary>Values of <see cref="Condition.Status"/>.</summary>
public static class ConditionStatus
{
    /// <summary>"True".</summary>
    public const string True = "True";

    /// <summary>"False".</summary>
    public const string False = "False";

    /// <summary>"Unknown".</summary>
    public const string Unknown = "Unknown";
}

/// <summary>The condition types of a job.</summary>
public static class ConditionTypes
{
    /// <summary>The spec passed validation (False with the field in the message otherwise).</summary>
    public const string Validated = "Validated";

    /// <summary>A trainer pod is running.</summary>
    public const string Running = "Running";

    /// <summary>
    /// No progress for runPolicy.stallTimeout (reason <c>NoProgress</c>), or the job failed (the Failed condition's
    /// reason): kstatus's abnormal-true condition (<see cref="KstatusRule"/>).
    /// </summary>
    public const string Stalled = "Stalled";

    /// <summary>
    /// The job is pending, running or restarting toward its goal (kstatus reads it: InProgress while True;
    /// <see cref="KstatusRule"/>).
    /// </summary>
    public const string Reconciling = "Reconciling";

    /// <summary>Waiting to restart from a checkpoint.</summary>
    public const string Restarting = "Restarting";

    /// <summary>spec.suspend is true and the pod is gone.</summary>
    public const string Suspended = "Suspended";

    /// <summary>Finished with metrics.</summary>
    public const string Succeeded = "Succeeded";

    /// <summary>Failed permanently.</summary>
    public const string Failed = "Failed";

    /// <summary>
    /// runPolicy.cleanupSecondsAfterFinished deleted the finished job's pods and its owned checkpoint claim; the job
    /// and its status stay.
    /// </summary>
    public const string ResourcesReleased = "ResourcesReleased";

    /// <summary>
    /// The summary `kubectl wait --for=condition=Ready` and people read (<see cref="ReadyRule"/>): True while the job
    /// runs healthily or after it succeeded, False with the reason otherwise. kstatus (and so Flux) reads
    /// <see cref="Reconciling"/> and <see cref="Stalled"/> instead.
    /// </summary>
    public const string Ready = "Ready";
}
