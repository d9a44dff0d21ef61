namespace BiT.Trainer.Commands;

/// <summary>A failure another attempt can get past (a server error, a timeout): exit code 5, retried by the operator.</summary>
public sealed class TransientFailureException : Exception
{
    public TransientFailureException()
    {
    }

    public TransientFailureException(string message)
        : base(message)
    {
    }

    public TransientFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
