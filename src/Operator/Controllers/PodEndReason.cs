namespace BiT.Operator.Controllers;

/// <summary>
/// Why a trainer pod ended or was replaced: the closed set of reasons recorded in the restart history, conditions and
/// Events (by name, as <see cref="Enum.ToString()"/> writes it). <see cref="PodOutcome.Classify"/> gives the ones read
/// from a pod; the reconciler adds its own (<see cref="Stalled"/>, <see cref="SegmentRoll"/>, <see cref="PodDeleted"/>).
/// </summary>
public enum PodEndReason
{
    /// <summary>Still pending or running.</summary>
    NotEnded,

    /// <summary>Exit 0.</summary>
    Completed,

    Evicted,

    /// <summary>A <c>DisruptionTarget</c> condition (preemption, a drain).</summary>
    Preempted,

    /// <summary>The node was lost, shut down or stopped reporting.</summary>
    NodeLost,

    OOMKilled,

    /// <summary>Failed without a container exit code.</summary>
    PodFailed,

    /// <summary>Exit 3: stopped after writing a checkpoint.</summary>
    Checkpointed,

    /// <summary>Exit 4: permanent failure.</summary>
    TrainerFailed,

    /// <summary>Exit 5: a failure a restart may fix.</summary>
    TrainerTransientFailure,

    /// <summary>Exit 2.</summary>
    TrainerUsageError,

    /// <summary>Exit 137.</summary>
    Killed,

    /// <summary>Exit 143.</summary>
    Terminated,

    /// <summary>Another exit 128+N.</summary>
    Signaled,

    /// <summary>Any other non-zero exit.</summary>
    Crashed,

    /// <summary>No progress for stallTimeout (the reconciler's).</summary>
    Stalled,

    /// <summary>maxSegmentDuration reached (the reconciler's; not a failure).</summary>
    SegmentRoll,

    /// <summary>The pod disappeared without the operator deleting it (the reconciler's).</summary>
    PodDeleted,
}
