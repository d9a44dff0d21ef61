namespace BiT.Operator.Runtime;

/// <summary>
/// What a reconcile asks of the runtime: nothing more, or another look after a delay; <see cref="Outcome"/> is the
/// label the controller counts it under (<c>success</c>, <c>requeue</c>, or a reconciler's own such as <c>conflict</c>).
/// </summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter, string Outcome)
{
    public static ReconcileResult Done { get; } = new(null, "success");

    public static ReconcileResult After(TimeSpan delay) => new(delay, "requeue");
}
