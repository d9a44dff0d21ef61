namespace BiT.Contracts.Api;

/// <summary>
/// The <c>Ready</c> summary condition, derived from the others (pure), with the meaning Flux's own objects give it:
/// True when the job is as its spec asks and healthy: a trainer running and making progress, or the run succeeded.
/// False, with the reason of the condition that says why, while it waits (pending, restarting, suspended), when the
/// operator found it stalled, and when it failed. kstatus does not read it for a custom resource: it reads
/// <c>Reconciling</c> and <c>Stalled</c> (<see cref="KstatusRule"/>) and <c>status.observedGeneration</c> (docs/gitops.md).
/// </summary>
public static class ReadyRule
{
    /// <summary>Status ("True"/"False"), reason and message of Ready for a status whose other conditions are set.</summary>
    public static (string Status, string Reason, string Message) Of(BiTJobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        static string Said(Condition? c) => c?.Message ?? "";

        if (status.Phase == JobPhase.Failed)
        {
            var failed = status.FindCondition(ConditionTypes.Failed);
            return (ConditionStatus.False, failed?.Reason ?? "Failed", Said(failed));
        }

        if (status.Phase == JobPhase.Succeeded)
        {
            return (ConditionStatus.True, "Succeeded", Said(status.FindCondition(ConditionTypes.Succeeded)));
        }

        if (status.Phase == JobPhase.Suspended)
        {
            return (ConditionStatus.False, "Suspended", Said(status.FindCondition(ConditionTypes.Suspended)));
        }

        if (status.IsConditionTrue(ConditionTypes.Stalled))
        {
            return (ConditionStatus.False, "Stalled", Said(status.FindCondition(ConditionTypes.Stalled)));
        }

        if (status.Phase == JobPhase.Restarting || status.IsConditionTrue(ConditionTypes.Restarting))
        {
            return (ConditionStatus.False, "Restarting", Said(status.FindCondition(ConditionTypes.Restarting)));
        }

        if (status.Phase == JobPhase.Running)
        {
            return (ConditionStatus.True, "Running", status.PodName is { } pod ? $"pod {pod} is training" : "");
        }

        var running = status.FindCondition(ConditionTypes.Running);
        return (ConditionStatus.False, running?.Reason ?? "Pending", Said(running));
    }
}
