namespace BiT.Contracts.Api;

/// <summary>
/// The <c>Reconciling</c> and <c>Stalled</c> conditions as kstatus (sigs.k8s.io/cli-utils/pkg/kstatus, which Flux's
/// health checks use) reads a custom resource: it ignores <c>Ready</c>, and with <c>status.observedGeneration</c>
/// equal to <c>metadata.generation</c> reports <em>InProgress</em> while <c>Reconciling</c> is True, <em>Failed</em>
/// while <c>Stalled</c> is True ("abnormal-true" conditions; whichever True one comes first in the list wins), and
/// <em>Current</em> otherwise. So a job is InProgress while it is pending, running or restarting toward its goal,
/// Current once it succeeded (or is suspended, as asked), and Failed when it failed (an invalid spec included) or
/// the operator found it making no progress. The two are never True together, so the list's order does not matter.
/// </summary>
public static class KstatusRule
{
    /// <summary>The reason of <c>Stalled</c> set by the stall watchdog (no progress for runPolicy.stallTimeout).</summary>
    public const string NoProgressReason = "NoProgress";

    /// <summary>
    /// What <c>Stalled</c> must say for a status whose other conditions are set: True with the Failed condition's
    /// reason while the job is Failed; False once a failure that set it was lifted (an invalid spec corrected); null to
    /// leave it as the stall watchdog left it.
    /// </summary>
    public static (bool Value, string Reason, string Message)? Stalled(BiTJobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.Phase == JobPhase.Failed)
        {
            var failed = status.FindCondition(ConditionTypes.Failed);
            return (true, failed?.Reason ?? "Failed", failed?.Message ?? "");
        }

        var stalled = status.FindCondition(ConditionTypes.Stalled);
        return stalled is { Status: ConditionStatus.True } && stalled.Reason != NoProgressReason
            ? (false, "NotFailed", "")
            : null;
    }

    /// <summary><c>Reconciling</c> for a status whose other conditions (<c>Stalled</c> and <c>Ready</c> included) are set.</summary>
    public static (bool Value, string Reason, string Message) Reconciling(BiTJobStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        switch (status.Phase)
        {
            case JobPhase.Succeeded:
                return (false, "Succeeded", "");
            case JobPhase.Failed:
                return (false, "Failed", "");
            case JobPhase.Suspended:
                return (false, "Suspended", "");
            default:
                break;
        }

        if (status.IsConditionTrue(ConditionTypes.Stalled))
        {
            return (false, "Stalled", status.FindCondition(ConditionTypes.Stalled)?.Message ?? "");
        }

        // Pending, running or restarting: the reason and message say which, as Ready's do.
        var (_, reason, message) = ReadyRule.Of(status);
        return (true, reason, message);
    }
}
