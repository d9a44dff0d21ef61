using BiT.Operator.Controllers;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

public sealed class PodOutcomeTests
{
    [Theory]
    [InlineData(0, null, null, PodEndKind.Succeeded, "Completed")]
    [InlineData(3, null, null, PodEndKind.Retryable, "Checkpointed")]
    [InlineData(4, null, null, PodEndKind.Permanent, "TrainerFailed")]
    [InlineData(5, null, null, PodEndKind.Retryable, "TrainerTransientFailure")]
    [InlineData(2, null, null, PodEndKind.Permanent, "TrainerUsageError")]
    [InlineData(137, null, null, PodEndKind.Retryable, "Killed")]
    [InlineData(143, null, null, PodEndKind.Retryable, "Terminated")]
    [InlineData(134, null, null, PodEndKind.Retryable, "Signaled")]
    [InlineData(1, null, null, PodEndKind.Retryable, "Crashed")]
    [InlineData(137, "OOMKilled", null, PodEndKind.Retryable, "OOMKilled")]
    [InlineData(143, null, "Evicted", PodEndKind.Retryable, "Evicted")]
    [InlineData(143, null, "NodeLost", PodEndKind.Retryable, "NodeLost")]
    public void Every_pod_end_is_classified(int exitCode, string? containerReason, string? podReason, PodEndKind kind, string reason)
    {
        var outcome = PodOutcome.Classify(Ended("p", exitCode, "", containerReason, podReason));
        Assert.Equal((kind, reason), (outcome.Kind, outcome.Reason.ToString()));
    }

    [Fact]
    public void A_disruption_target_condition_means_preemption()
    {
        var pod = Ended("p", 143);
        pod.Status.Conditions = [new V1PodCondition { Type = "DisruptionTarget", Status = "True", Reason = "PreemptionByScheduler", Message = "preempted" }];
        var outcome = PodOutcome.Classify(pod);
        Assert.Equal((PodEndKind.Retryable, PodEndReason.Preempted), (outcome.Kind, outcome.Reason));
        Assert.Contains("PreemptionByScheduler", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transient_trainer_failure_is_retried_with_the_trainer_s_last_line()
    {
        var outcome = PodOutcome.Classify(Ended("p", 5, "resuming from step-00000002.ckpt\nbit-trainer: error: No space left on device : '/checkpoints/step-00000004.ckpt.tmp'"));
        Assert.Equal((PodEndKind.Retryable, PodEndReason.TrainerTransientFailure, 5), (outcome.Kind, outcome.Reason, outcome.ExitCode ?? -1));
        Assert.Equal("bit-trainer: error: No space left on device : '/checkpoints/step-00000004.ckpt.tmp'", outcome.Message);
    }

    [Fact]
    public void A_running_pod_has_not_ended()
    {
        Assert.Equal(PodEndKind.NotEnded, PodOutcome.Classify(Pod("p", "Running")).Kind);
    }
}
