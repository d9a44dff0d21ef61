using BiT.Contracts.Api;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>How the operator runs a job: <c>spec.runPolicy</c> with defaults applied.</summary>
public sealed record RunPolicy(
    int MaxRestarts,
    TimeSpan Backoff,
    TimeSpan StallTimeout,
    StallAction OnStall,
    TimeSpan? MaxSegmentDuration,
    TimeSpan? ActiveDeadline,
    TimeSpan? TtlAfterFinished,
    TimeSpan? CleanupAfterFinished = null)
{
    /// <summary>The contracts' defaults (<see cref="RunPolicySpec"/>).</summary>
    public static RunPolicy Default { get; } = new(
        RunPolicySpec.DefaultMaxRestarts, TimeSpan.FromSeconds(RunPolicySpec.DefaultBackoffSeconds), RunPolicySpec.DefaultStallTimeout,
        StallAction.Restart, null, null, null);

    /// <summary>The cap on a restart's backoff.</summary>
    public static TimeSpan MaxBackoff => RunPolicySpec.MaxBackoff;

    /// <summary>Delay before restart number <paramref name="restart"/> (1-based): doubles each time, capped.</summary>
    public TimeSpan BackoffFor(int restart)
    {
        var factor = Math.Pow(2, Math.Clamp(restart - 1, 0, 30));
        var seconds = Backoff.TotalSeconds * factor;
        return seconds >= MaxBackoff.TotalSeconds ? MaxBackoff : TimeSpan.FromSeconds(seconds);
    }
}

/// <summary><c>spec.resources</c>: what the trainer pods ask of the cluster, and how many there are.</summary>
public sealed record ResourceSettings(
    int Gpus,
    string? Cpu,
    string? Memory,
    IReadOnlyDictionary<string, string> NodeSelector,
    IReadOnlyList<V1Toleration> Tolerations,
    string? PriorityClassName,
    int Workers = 1,
    int ProcessesPerPod = 1,
    string? SchedulerName = null,
    PodGroupKind PodGroup = PodGroupKind.None)
{
    /// <summary>Ranks of the job.</summary>
    public int WorldSize => Workers * ProcessesPerPod;

    /// <summary>More than one pod: a gang with a headless Service and the rendezvous environment.</summary>
    public bool IsGang => Workers > 1;
}

/// <summary>Which gang scheduler's PodGroup the operator makes for each attempt.</summary>
public enum PodGroupKind
{
    None,

    /// <summary>scheduling.x-k8s.io/v1alpha1 PodGroup of the scheduler-plugins coscheduling plugin.</summary>
    Coscheduling,

    /// <summary>scheduling.volcano.sh/v1beta1 PodGroup.</summary>
    Volcano,
}

/// <summary>
/// A volume reference: an existing claim, or one the operator creates from a class and size; for checkpoints also
/// what deleting the job does to them (<see cref="CheckpointVolumeSpec.EffectiveOnDelete"/>).
/// </summary>
public sealed record VolumeSettings(string? ClaimName, string? StorageClassName, string? Size, CheckpointRetention OnDelete = CheckpointRetention.Retain);

/// <summary>The parts of a job's spec that the operator itself acts on (the rest goes to the plan).</summary>
public sealed record JobSettings(
    string? Image,
    bool Suspend,
    ResourceSettings Resources,
    RunPolicy RunPolicy,
    VolumeSettings? CheckpointVolume,
    string? DatasetPath,
    string? DatasetClaim,
    string? FromPretrainJob,
    string? WeightsPath,
    PodTemplateSpec? PodTemplate = null);
