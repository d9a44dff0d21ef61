namespace BiT.Trainer.Data;

/// <summary>One image could not be decoded; the pipeline skips it and counts it.</summary>
public sealed class CorruptImageException : Exception
{
    public CorruptImageException(string message)
        : base(message)
    {
    }

    public CorruptImageException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CorruptImageException()
    {
    }
}
