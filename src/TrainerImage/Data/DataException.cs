namespace BiT.Trainer.Data;

/// <summary>The data cannot be used (missing split, bad file, empty class, label out of range): a permanent failure.</summary>
public sealed class DataException : Exception
{
    public DataException(string message)
        : base(message)
    {
    }

    public DataException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public DataException()
    {
    }
}
