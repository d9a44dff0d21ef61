namespace BiT.Distributed;

/// <summary>
/// A collective or the rendezvous failed: a peer died or closed its connection, a peer did not arrive within the
/// group's timeout, or the shim was not built. The message is Gloo's, prefixed with what was being done.
/// </summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException()
    {
    }

    public CollectiveException(string message)
        : base(message)
    {
    }

    public CollectiveException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
