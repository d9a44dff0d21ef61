namespace BiT.Model;

/// <summary>A weights download the policy refuses (scheme, address, size, redirects): permanent, the message says why.</summary>
public sealed class WeightsPolicyException : Exception
{
    public WeightsPolicyException()
    {
    }

    public WeightsPolicyException(string message)
        : base(message)
    {
    }

    public WeightsPolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
