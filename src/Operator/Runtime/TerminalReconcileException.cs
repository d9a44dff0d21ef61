namespace BiT.Operator.Runtime;

/// <summary>
/// A reconcile failure that retrying cannot fix (controller-runtime's terminal error): the controller logs and counts
/// it (outcome <c>terminal</c>) and does not requeue the key; only a new event for it brings it back.
/// </summary>
public sealed class TerminalReconcileException : Exception
{
    public TerminalReconcileException()
    {
    }

    public TerminalReconcileException(string message)
        : base(message)
    {
    }

    public TerminalReconcileException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
