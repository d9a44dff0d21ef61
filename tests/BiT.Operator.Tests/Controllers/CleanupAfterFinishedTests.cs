using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

/// <summary>runPolicy.cleanupSecondsAfterFinished: the GitOps-safe release of a finished job's pods and claim.</summary>
public sealed class CleanupAfterFinishedTests
{
    private static ReconcileDecision Run(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now) =>
        new JobReconciler(Options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, job, pods, null, now));

    private static (JobObject Job, ReconcileDecision Decision) Step(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now)
    {
        var d = Run(job, pods, now);
        return (WithStatusPatch(job, d.StatusPatch), d);
    }

    private static JsonObject CleanupSpec(JsonObject volume)
    {
        var spec = Spec();
        spec["runPolicy"]!["cleanupSecondsAfterFinished"] = 60;
        spec["checkpoint"]!["volume"] = volume;
        return spec;
    }

    /// <summary>A job whose first pod ended with <paramref name="exitCode"/> at T0+1m.</summary>
    private static (JobObject Job, ReconcileDecision Decision) Finish(JsonObject spec, int exitCode)
    {
        var (job, _) = Step(Job(spec), [], T0);
        return Step(job, [Ended("pets-run-1", exitCode)], T0.AddMinutes(1));
    }

    [Fact]
    public void After_the_delay_the_pods_and_the_created_claim_go_and_the_job_stays_with_its_status()
    {
        var (job, finished) = Finish(CleanupSpec(new JsonObject { ["size"] = "1Gi" }), 0);
        Assert.Equal(JobPhase.Succeeded, JobStatus(job).Phase);
        Assert.Equal(TimeSpan.FromSeconds(60), finished.RequeueAfter);
        Assert.Empty(finished.Actions.OfType<DeleteClaim>());

        var mid = Run(job, [Ended("pets-run-1", 0)], T0.AddMinutes(1).AddSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), mid.RequeueAfter);
        Assert.Empty(mid.Actions);

        (job, var due) = Step(job, [Ended("pets-run-1", 0)], T0.AddMinutes(2));
        Assert.Equal("pets-run-1", Assert.Single(due.Actions.OfType<DeletePod>()).Name);
        Assert.Equal("pets-checkpoints", Assert.Single(due.Actions.OfType<DeleteClaim>()).Name);
        Assert.Empty(due.Actions.OfType<DeleteJob>());
        var released = JobStatus(job).FindCondition(ConditionTypes.ResourcesReleased)!;
        Assert.Equal(("True", "CleanupAfterFinished"), (released.Status, released.Reason));
        Assert.Contains("pets-checkpoints", released.Message, StringComparison.Ordinal);
        Assert.Contains(due.Actions.OfType<RecordEvent>(), e => e.Reason == "ResourcesReleased");
        // The record of the run stays: phase, result, Ready.
        Assert.Equal(JobPhase.Succeeded, JobStatus(job).Phase);
        Assert.Equal("True", JobStatus(job).FindCondition(ConditionTypes.Ready)!.Status);

        // Level-triggered and idempotent: a pod being deleted, then none, asks for nothing more and writes nothing.
        var deleting = Ended("pets-run-1", 0);
        deleting.Metadata.DeletionTimestamp = T0.AddMinutes(2).UtcDateTime;
        var again = Run(job, [deleting], T0.AddMinutes(3));
        Assert.Empty(again.Actions);
        Assert.Null(again.StatusPatch);
        var gone = Run(job, [], T0.AddHours(5));
        Assert.Empty(gone.Actions);
        Assert.Null(gone.StatusPatch);
        Assert.Null(gone.RequeueAfter);

        // A pod left over (an operator stopped mid-way, a pod that re-appeared in the cache) is deleted again.
        var leftover = Run(job, [Ended("pets-run-1", 0)], T0.AddHours(5));
        Assert.Equal("pets-run-1", Assert.Single(leftover.Actions.OfType<DeletePod>()).Name);
        Assert.Empty(leftover.Actions.OfType<DeleteClaim>());
    }

    [Theory]
    [InlineData("{\"claimName\": \"pets-ckpt\"}")]
    [InlineData("{\"claimName\": \"pets-ckpt\", \"onDelete\": \"Delete\"}")]
    [InlineData("{\"size\": \"1Gi\", \"onDelete\": \"Retain\"}")]
    public void A_claim_the_job_does_not_own_is_left_alone(string volume)
    {
        var (job, _) = Finish(CleanupSpec((JsonObject)JsonNode.Parse(volume)!), 0);
        var due = Run(job, [Ended("pets-run-1", 0)], T0.AddMinutes(2));
        Assert.Single(due.Actions.OfType<DeletePod>());
        Assert.Empty(due.Actions.OfType<DeleteClaim>());
        Assert.DoesNotContain("claim", JobStatus(WithStatusPatch(job, due.StatusPatch)).FindCondition(ConditionTypes.ResourcesReleased)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_job_is_cleaned_up_too_and_without_the_option_nothing_is_deleted()
    {
        var (failed, _) = Finish(CleanupSpec(new JsonObject { ["size"] = "1Gi" }), TrainerExitCodesPermanent);
        Assert.Equal(JobPhase.Failed, JobStatus(failed).Phase);
        var due = Run(failed, [Ended("pets-run-1", TrainerExitCodesPermanent)], T0.AddMinutes(2));
        Assert.Single(due.Actions.OfType<DeleteClaim>());

        var spec = Spec();
        spec["checkpoint"]!["volume"] = new JsonObject { ["size"] = "1Gi" };
        var (kept, _) = Finish(spec, 0);
        var later = Run(kept, [Ended("pets-run-1", 0)], T0.AddDays(30));
        Assert.Empty(later.Actions);
        Assert.Null(later.StatusPatch);
    }

    [Fact]
    public void A_fine_tune_job_from_a_pretrain_job_whose_claim_was_released_fails_saying_so()
    {
        var spec = Spec();
        spec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "upstream" } };
        var upSpec = CleanupSpec(new JsonObject { ["size"] = "1Gi" });
        var up = WithStatusPatch(Job(upSpec, name: "upstream", kind: "BiTPretrainJob"), JsonNode.Parse("""
            {"phase": "Succeeded", "result": {"modelPath": "/checkpoints/final/model.npz"},
             "conditions": [{"type": "ResourcesReleased", "status": "True", "reason": "CleanupAfterFinished", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
            """)!.AsObject());
        var d = new JobReconciler(Options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, Job(spec), [], up, T0));
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Contains("released its checkpoint claim upstream-checkpoints", d.Status.FindCondition(ConditionTypes.Validated)!.Message, StringComparison.Ordinal);
    }

    private static BiTJobStatus JobStatus(JobObject job) => BiTJobStatus.FromJson(job.Status);

    private const int TrainerExitCodesPermanent = BiT.Contracts.Plans.TrainerExitCodes.PermanentFailure;
}
