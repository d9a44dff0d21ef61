namespace BiT.Trainer.Commands;

/// <summary>The command line is wrong; the message says what, and the process exits with code 2.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException()
    {
    }

    /// <summary>Creates the exception with what was wrong.</summary>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with what was wrong and the cause.</summary>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
