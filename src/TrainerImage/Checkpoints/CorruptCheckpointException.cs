namespace BiT.Trainer.Checkpoints;

public sealed class CorruptCheckpointException : Exception
{
    public CorruptCheckpointException(string message)
        : base(message)
    {
    }

    public CorruptCheckpointException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CorruptCheckpointException()
    {
    }
}
