using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>What the operator does when the trainer stalls.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StallAction>))]
[Field("Restart (default): delete the pod and resume from the checkpoint; Fail: fail the job; None: only report.")]
public enum StallAction
{
    /// <summary>Restart from the latest checkpoint.</summary>
    Restart,

    /// <summary>Fail the job.</summary>
    Fail,

    /// <summary>Report only.</summary>
    None,
}

/// <summary>Restarts, stalls, long schedules and clean-up. Used by the operator; ignored locally.</summary>
[Field("Restarts, stall handling, pod rolling and clean-up (used by the operator, ignored locally).")]
public sealed record RunPolicySpec
{
    /// <summary>Default <see cref="MaxRestarts"/>.</summary>
    public const int DefaultMaxRestarts = 10;

    /// <summary>The longest time any field of a job may state (10 years): added to a timestamp it stays a valid date.</summary>
    public const long MaxSeconds = 315_360_000;

    /// <summary>Default <see cref="BackoffSeconds"/>.</summary>
    public const int DefaultBackoffSeconds = 10;

    /// <summary>Cap of the doubling backoff.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>Default <see cref="StallTimeout"/>.</summary>
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Restarts allowed before the job fails.</summary>
    [Field("Restarts allowed before the job fails (default 10).", Minimum = 0, Maximum = 10_000)]
    public int? MaxRestarts { get; init; }

    /// <summary>First restart delay; doubles, capped at 10 minutes.</summary>
    [Field("Delay before the first restart in seconds (default 10); doubles each time, capped at 10 minutes.", Minimum = 0, Maximum = 600)]
    public int? BackoffSeconds { get; init; }

    /// <summary>No progress for this long = stalled.</summary>
    [Field("No progress for this long marks the job Stalled (default 15m).", Pattern = ApiPatterns.Duration, PatternHint = "a duration such as 90s, 15m or 1h30m", MaxLength = 64)]
    public GoDuration? StallTimeout { get; init; }

    /// <summary>Reaction to a stall.</summary>
    [Field("What to do on a stall: Restart (default), Fail or None.")]
    public StallAction? OnStall { get; init; }

    /// <summary>Roll the pod (checkpoint first) after this long.</summary>
    [Field("Roll the pod after this long, checkpointing first (for clusters that cap pod lifetime).", Pattern = ApiPatterns.Duration, PatternHint = "a duration such as 24h", MaxLength = 64)]
    public GoDuration? MaxSegmentDuration { get; init; }

    /// <summary>Bound of the whole job; 0 = none.</summary>
    [Field("Fail the job after this many seconds in total; 0 = no deadline. At most 10 years.", Minimum = 0, Maximum = MaxSeconds)]
    public long? ActiveDeadlineSeconds { get; init; }

    /// <summary>Delete a finished job after this long; 0 = keep.</summary>
    [Field("Delete the job this many seconds after it finished; 0 = keep. At most 10 years.", Minimum = 0, Maximum = MaxSeconds)]
    public long? TtlSecondsAfterFinished { get; init; }

    /// <summary>Delete the pods and the owned checkpoint claim of a finished job after this long, keeping the job; 0 = keep.</summary>
    [Field("Delete the job's pods and the checkpoint claim it owns this many seconds after it finished, keeping the job object and its status (the GitOps-safe alternative to ttlSecondsAfterFinished); 0 = keep. At most 10 years.", Minimum = 0, Maximum = MaxSeconds)]
    public long? CleanupSecondsAfterFinished { get; init; }
}
