namespace BiT.Trainer.Training;

/// <summary>A failure that retrying cannot fix (bad plan, bad data, non-finite loss): exit code 4.</summary>
public sealed class TrainingFailedException : Exception
{
    public TrainingFailedException(string message)
        : base(message)
    {
    }

    public TrainingFailedException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public TrainingFailedException()
    {
    }
}
