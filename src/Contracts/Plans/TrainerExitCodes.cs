namespace BiT.Contracts.Plans;

/// <summary>The trainer's exit codes, and how the operator reads any exit code.</summary>
public static class TrainerExitCodes
{
    /// <summary>Finished; final model and metrics written.</summary>
    public const int Success = 0;

    /// <summary>Usage error on the command line.</summary>
    public const int Usage = 2;

    /// <summary>Stopped after writing a checkpoint (SIGTERM, segment end): restart from it.</summary>
    public const int CheckpointedStop = 3;

    /// <summary>Bad spec/plan, bad data, non-finite loss: the last output line says why. Do not retry.</summary>
    public const int PermanentFailure = 4;

    /// <summary>A failure another attempt can get past (disk full, a server error, a timeout): the last output line says why. Retry.</summary>
    public const int TransientFailure = 5;

    /// <summary>What an exit code means for the job.</summary>
    public static TrainerExitKind Classify(int exitCode) => exitCode switch
    {
        Success => TrainerExitKind.Succeeded,
        CheckpointedStop => TrainerExitKind.Checkpointed,
        PermanentFailure => TrainerExitKind.PermanentFailure,
        TransientFailure => TrainerExitKind.Transient,
        Usage => TrainerExitKind.UsageError,
        // 128+N (a signal, 137 = SIGKILL/OOM) and anything else: a crash; the latest checkpoint is still good.
        _ => TrainerExitKind.Crashed,
    };

    /// <summary>True when the job should restart from its latest checkpoint.</summary>
    public static bool IsRetryable(int exitCode) =>
        Classify(exitCode) is TrainerExitKind.Checkpointed or TrainerExitKind.Transient or TrainerExitKind.Crashed;
}

/// <summary>The meaning of a trainer exit code.</summary>
public enum TrainerExitKind
{
    /// <summary>0: done.</summary>
    Succeeded,

    /// <summary>3: stopped cleanly after a checkpoint; retry.</summary>
    Checkpointed,

    /// <summary>4: permanent failure; do not retry.</summary>
    PermanentFailure,

    /// <summary>5: a transient failure (disk full, server error, timeout); retry from the latest checkpoint.</summary>
    Transient,

    /// <summary>2: command-line usage error; do not retry.</summary>
    UsageError,

    /// <summary>Any other code, including 128+N signals: retry from the latest checkpoint.</summary>
    Crashed,
}
