using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

/// <summary>The Ready summary (kstatus/Flux semantics) for each state a job can be in.</summary>
public sealed class ReadyRuleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static BiTJobStatus With(JobPhase phase, params (string Type, bool True, string Reason, string Message)[] conditions)
    {
        IReadOnlyList<Condition>? list = null;
        foreach (var (type, value, reason, message) in conditions)
        {
            list = ConditionRules.Set(list, type, value ? ConditionStatus.True : ConditionStatus.False, reason, message, 1, T0);
        }

        return new BiTJobStatus { Phase = phase, Conditions = list, PodName = "pets-run-2" };
    }

    public static TheoryData<string, BiTJobStatus, string, string, string> Cases() => new()
    {
        { "running", With(JobPhase.Running, (ConditionTypes.Running, true, "PodRunning", "")), "True", "Running", "pod pets-run-2 is training" },
        { "succeeded", With(JobPhase.Succeeded, (ConditionTypes.Succeeded, true, "Completed", "top-1 91.3 %")), "True", "Succeeded", "top-1 91.3 %" },
        { "pending", With(JobPhase.Pending, (ConditionTypes.Running, false, "PodPending", "Insufficient nvidia.com/gpu")), "False", "PodPending", "Insufficient nvidia.com/gpu" },
        { "waiting for upstream", With(JobPhase.Pending, (ConditionTypes.Running, false, "WaitingForPretrainJob", "upstream is Running")), "False", "WaitingForPretrainJob", "upstream is Running" },
        { "stalled", With(JobPhase.Running, (ConditionTypes.Running, true, "PodRunning", ""), (ConditionTypes.Stalled, true, "NoProgress", "no progress for 15m0s")), "False", "Stalled", "no progress for 15m0s" },
        { "restarting", With(JobPhase.Restarting, (ConditionTypes.Restarting, true, "Evicted", "restarting in 10s")), "False", "Restarting", "restarting in 10s" },
        { "suspended", With(JobPhase.Suspended, (ConditionTypes.Suspended, true, "Suspended", "spec.suspend is true")), "False", "Suspended", "spec.suspend is true" },
        { "failed", With(JobPhase.Failed, (ConditionTypes.Failed, true, "RestartLimitExceeded", "4 restarts")), "False", "RestartLimitExceeded", "4 restarts" },
        { "no status yet", new BiTJobStatus(), "False", "Pending", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Ready_summarises_the_job(string state, BiTJobStatus status, string expected, string reason, string message)
    {
        var (s, r, m) = ReadyRule.Of(status);
        Assert.True((expected, reason, message) == (s, r, m), $"{state}: got {s} {r} '{m}'");
    }
}
