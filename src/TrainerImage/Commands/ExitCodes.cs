namespace BiT.Trainer.Commands;

/// <summary>The trainer's exit codes (docs/api.md, "Trainer exit codes").</summary>
public static class ExitCodes
{
    /// <summary>Finished.</summary>
    public const int Success = 0;

    /// <summary>A usage error on the command line.</summary>
    public const int Usage = 2;

    /// <summary>Stopped after writing a checkpoint; retryable.</summary>
    public const int Checkpointed = 3;

    /// <summary>Permanent failure: bad spec, bad data; the last line of output says why.</summary>
    public const int Failure = 4;
}
