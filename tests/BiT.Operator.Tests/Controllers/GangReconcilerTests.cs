using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

/// <summary>Jobs of several workers (spec.resources.workers): one gang of pods per attempt, started and restarted together.</summary>
public sealed class GangReconcilerTests
{
    private readonly FakePlanner _planner = new();

    private static JsonObject GangSpec(int workers = 2, JsonObject? extra = null)
    {
        var spec = Spec();
        var resources = extra ?? new JsonObject();
        resources["workers"] = workers;
        spec["resources"] = resources;
        return spec;
    }

    private ReconcileDecision Run(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now) =>
        new JobReconciler(Options, _planner).Reconcile(new ReconcileInput(JobKind.FineTune, job, pods, null, now));

    private (JobObject Job, ReconcileDecision Decision) Step(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now)
    {
        var d = Run(job, pods, now);
        return (WithStatusPatch(job, d.StatusPatch), d);
    }

    private static List<V1Pod> Created(ReconcileDecision d) => [.. d.Actions.OfType<CreatePod>().Select(c => c.Pod)];

    private static string? Env(V1Pod pod, string name) => pod.Spec.Containers[0].Env.SingleOrDefault(e => e.Name == name)?.Value;

    private static JobObject WithSpec(JobObject job, JsonObject spec) =>
        new() { Kind = job.Kind, Metadata = job.Metadata, Spec = JsonSerializer.SerializeToElement(spec), Status = job.Status };

    private static V1Pod Deleting(V1Pod pod)
    {
        pod.Metadata.DeletionTimestamp = T0.UtcDateTime;
        return pod;
    }

    /// <summary>A started gang whose status names attempt 1, both workers running.</summary>
    private (JobObject Job, List<V1Pod> Pods) Running(JsonObject? spec = null)
    {
        var (job, _) = Step(Job(spec ?? GangSpec()), [], T0);
        List<V1Pod> pods = [Pod("pets-run-1-0", "Running", T0), Pod("pets-run-1-1", "Running", T0)];
        (job, _) = Step(job, pods, T0.AddSeconds(5));
        return (job, pods);
    }

    [Fact]
    public void A_gang_gets_all_its_workers_at_once_with_a_headless_service_and_the_rendezvous_environment()
    {
        var (_, d) = Step(Job(GangSpec()), [], T0);
        var pods = Created(d);
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], pods.Select(p => p.Metadata.Name));
        var service = Assert.IsType<V1Service>(Assert.Single(d.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "Service").Object);
        Assert.Equal("pets-workers", service.Metadata.Name);
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses);
        Assert.Equal("uid-pets", service.Spec.Selector[OwnedObjects.JobUidLabel]);
        Assert.Equal("uid-pets", Assert.Single(service.Metadata.OwnerReferences).Uid);

        for (var worker = 0; worker < 2; worker++)
        {
            var pod = pods[worker];
            Assert.Equal($"pets-run-1-{worker}", pod.Spec.Hostname);
            Assert.Equal("pets-workers", pod.Spec.Subdomain);
            Assert.Equal("pets-run-1-0.pets-workers", Env(pod, TrainerEnv.MasterAddress));
            Assert.Equal("29500", Env(pod, TrainerEnv.MasterPort));
            Assert.Equal("2", Env(pod, TrainerEnv.WorldSize));
            Assert.Equal($"{worker}", Env(pod, TrainerEnv.NodeRank));
            Assert.Equal($"{worker}", Env(pod, TrainerEnv.Rank));
            Assert.Equal("1", Env(pod, TrainerEnv.LocalWorldSize));
            Assert.Equal("status.podIP", pod.Spec.Containers[0].Env.Single(e => e.Name == TrainerEnv.RankHost).ValueFrom.FieldRef.FieldPath);
            Assert.Equal($"{worker}", pod.Metadata.Labels[OwnedObjects.WorkerLabel]);
            // Kueue admits the attempt as one group of two.
            Assert.Equal("pets-run-1", pod.Metadata.Labels[OwnedObjects.KueueGroupLabel]);
            Assert.Equal("2", pod.Metadata.Annotations[OwnedObjects.KueueGroupCountAnnotation]);
            Assert.Equal(["train", "--plan", PodPaths.PlanFile], pod.Spec.Containers[0].Args);
        }

        // Only rank 0 reads and writes checkpoints: only its pod mounts the claim.
        Assert.Equal("pets-ckpt", pods[0].Spec.Volumes.Single(v => v.Name == "checkpoints").PersistentVolumeClaim.ClaimName);
        Assert.NotNull(pods[1].Spec.Volumes.Single(v => v.Name == "checkpoints").EmptyDir);

        var status = d.Status;
        Assert.Equal(JobPhase.Pending, status.Phase);
        Assert.Equal("pets-run-1-0", status.PodName);
        Assert.Equal(2, status.WorldSize);
        Assert.Equal("0/2", status.Workers!.Display);
        Assert.Equal(2, status.Hyperparameters!.WorldSize);
        Assert.Equal(256, status.Hyperparameters.RankMicroBatch);
    }

    [Fact]
    public void One_worker_keeps_todays_names_and_no_rendezvous()
    {
        var (_, d) = Step(Job(GangSpec(workers: 1)), [], T0);
        var pod = Assert.Single(Created(d));
        Assert.Equal("pets-run-1", pod.Metadata.Name);
        Assert.Null(pod.Spec.Subdomain);
        Assert.Null(Env(pod, TrainerEnv.WorldSize));
        Assert.DoesNotContain(d.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "Service");
        Assert.Equal(1, d.Status.WorldSize);
        Assert.Null(d.Status.Hyperparameters!.WorldSize);
    }

    [Fact]
    public void Several_processes_per_pod_are_started_by_the_pods_command_and_numbered_from_its_node_rank()
    {
        var (_, d) = Step(Job(GangSpec(extra: new JsonObject { ["processesPerWorker"] = 2 })), [], T0);
        var pod = Created(d)[1];
        Assert.Equal(["train", "--plan", PodPaths.PlanFile, "--processes", "2"], pod.Spec.Containers[0].Args);
        Assert.Equal("4", Env(pod, TrainerEnv.WorldSize));
        Assert.Equal("1", Env(pod, TrainerEnv.NodeRank));
        Assert.Equal("2", Env(pod, TrainerEnv.LocalWorldSize));
        Assert.Null(Env(pod, TrainerEnv.Rank));
        Assert.Equal(4, d.Status.WorldSize);
        Assert.Equal(128, d.Status.Hyperparameters!.RankMicroBatch);
    }

    [Fact]
    public void The_job_is_pending_with_a_reason_until_every_worker_runs()
    {
        var (job, _) = Step(Job(GangSpec()), [], T0);
        var gated = Pod("pets-run-1-1", "Pending");
        gated.Status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "SchedulingGated" }];
        var (pending, d) = Step(job, [Pod("pets-run-1-0", "Running", T0), gated], T0.AddSeconds(5));
        Assert.Equal(JobPhase.Pending, d.Status.Phase);
        var running = d.Status.FindCondition(ConditionTypes.Running)!;
        Assert.Equal(("False", "SchedulingGated"), (running.Status, running.Reason));
        Assert.Contains("1 of 2 workers", running.Message, StringComparison.Ordinal);
        Assert.Equal("1/2", d.Status.Workers!.Display);
        Assert.Empty(d.Actions.OfType<CreatePod>());

        d = Run(pending, [Pod("pets-run-1-0", "Running", T0), Pod("pets-run-1-1", "Running", T0)], T0.AddSeconds(10));
        Assert.Equal(JobPhase.Running, d.Status.Phase);
        Assert.Equal("2/2", d.Status.Workers!.Display);
    }

    [Fact]
    public void A_killed_worker_ends_the_attempt_and_the_whole_gang_restarts_once_from_the_checkpoint()
    {
        var (job, _) = Running();
        job = WithTrainerStatus(job, 12, T0.AddSeconds(30), checkpointStep: 10);
        var killed = Ended("pets-run-1-1", 137, reason: "Error");
        var (restarting, d) = Step(job, [Pod("pets-run-1-0", "Running", T0), killed], T0.AddSeconds(40));

        // Rank 0 is stopped gracefully (it checkpoints); one restart, one history entry naming the worker.
        Assert.Equal(new DeletePod("pets-run-1-0", Options.TerminationGracePeriodSeconds), Assert.Single(d.Actions.OfType<DeletePod>()));
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Equal(JobPhase.Restarting, d.Status.Phase);
        Assert.Equal(1, d.Status.Restarts);
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("Killed", 137, "pets-run-1-1", 1, 10), (record.Reason, record.ExitCode, record.PodName, record.Worker, record.ResumedFromStep));
        Assert.Contains("worker 1", Assert.Single(record.Workers!), StringComparison.Ordinal);

        // Rank 0 then fails its collective (exit 5) while stopping: the same attempt, no second restart.
        var (waiting, d2) = Step(restarting, [Deleting(Pod("pets-run-1-0", "Running", T0)), killed], T0.AddSeconds(41));
        Assert.Empty(d2.Actions.OfType<CreatePod>());
        Assert.Empty(d2.Actions.OfType<DeletePod>());
        Assert.Equal(1, d2.Status.Restarts);
        List<V1Pod> ended = [Ended("pets-run-1-0", 5, "bit-trainer: error: all-reduce failed"), killed];
        var (_, d3) = Step(waiting, ended, T0.AddSeconds(42));
        Assert.Empty(d3.Actions.OfType<CreatePod>());
        Assert.Equal(1, d3.Status.Restarts);
        Assert.NotNull(d3.RequeueAfter);

        // After the backoff, the next attempt's gang, the ended one cleared away.
        var (next, d4) = Step(waiting, ended, T0.AddSeconds(60));
        Assert.Equal(["pets-run-2-0", "pets-run-2-1"], Created(d4).Select(p => p.Metadata.Name));
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d4.Actions.OfType<DeletePod>().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("pets-run-2-0.pets-workers", Env(Created(d4)[1], TrainerEnv.MasterAddress));
        Assert.Equal(1, d4.Status.Restarts);
        Assert.Single(d4.Status.RestartHistory!);
        Assert.Equal("pets-run-2-0", BiTJobStatus.FromJson(next.Status).PodName);
    }

    [Fact]
    public void When_several_workers_ended_the_one_that_failed_on_its_own_is_named_not_the_one_whose_collective_failed()
    {
        var (job, _) = Running();
        var d = Run(job, [Ended("pets-run-1-0", 5, "bit-trainer: error: all-reduce of 4 bytes failed"), Ended("pets-run-1-1", 137, reason: "OOMKilled")], T0.AddSeconds(40));
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("OOMKilled", 1), (record.Reason, record.Worker));
        Assert.Equal(2, record.Workers!.Count);
        Assert.Equal(1, d.Status.Restarts);
    }

    [Fact]
    public void A_worker_deleted_by_someone_ends_the_attempt()
    {
        var (job, _) = Running();
        var d = Run(job, [Pod("pets-run-1-0", "Running", T0)], T0.AddSeconds(40));
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("PodDeleted", 1, "pets-run-1-1"), (record.Reason, record.Worker, record.PodName));
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Contains(d.Actions.OfType<DeletePod>(), p => p.Name == "pets-run-1-0");
    }

    [Fact]
    public void An_operator_stopped_while_creating_the_gang_makes_only_the_missing_workers_after_its_restart()
    {
        // The status write after the creation never happened; only worker 0 was created.
        var job = Job(GangSpec());
        var d = Run(job, [Pod("pets-run-1-0", "Pending")], T0.AddSeconds(5));
        Assert.Equal(["pets-run-1-1"], Created(d).Select(p => p.Metadata.Name));
        Assert.Empty(d.Actions.OfType<DeletePod>());
        Assert.Equal("pets-run-1-0", d.Status.PodName);
        Assert.Equal(0, d.Status.Restarts);

        // Both there: nothing is created again.
        var again = Run(WithStatusPatch(job, d.StatusPatch), [Pod("pets-run-1-0", "Pending"), Pod("pets-run-1-1", "Pending")], T0.AddSeconds(6));
        Assert.Empty(again.Actions.OfType<CreatePod>());
    }

    [Fact]
    public void A_permanent_failure_of_any_worker_fails_the_job_naming_it()
    {
        var (job, _) = Running();
        var d = Run(job, [Pod("pets-run-1-0", "Running", T0), Ended("pets-run-1-1", 4, "bit-trainer: error: the dataset is broken")], T0.AddSeconds(40));
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.Contains("worker 1: bit-trainer: error: the dataset is broken", d.Status.FindCondition(ConditionTypes.Failed)!.Message, StringComparison.Ordinal);
        Assert.Contains(d.Actions.OfType<DeletePod>(), p => p.Name == "pets-run-1-0");
    }

    [Fact]
    public void The_job_succeeds_with_rank_0s_result()
    {
        var (job, _) = Running();
        var result = TrainerResult.ToMessage(new ResultStatus { Top1 = 0.5, Top5 = 0.9, ModelPath = "/checkpoints/final/model.npz" }, 20);
        var d = Run(job, [Ended("pets-run-1-0", 0, result), Pod("pets-run-1-1", "Running", T0)], T0.AddSeconds(40));
        Assert.Equal(JobPhase.Succeeded, d.Status.Phase);
        Assert.Equal(0.5, d.Status.Result!.Top1);
        Assert.Equal(0, d.Status.Restarts);
    }

    [Fact]
    public void Suspend_stops_every_worker_and_resume_starts_the_next_gang_once_they_have_ended_without_counting_a_restart()
    {
        var (job, pods) = Running();
        var spec = GangSpec();
        spec["suspend"] = true;
        var (suspended, d) = Step(WithSpec(job, spec), pods, T0.AddSeconds(30));
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d.Actions.OfType<DeletePod>().Select(p => p.Name));
        Assert.All(d.Actions.OfType<DeletePod>(), p => Assert.Equal(Options.TerminationGracePeriodSeconds, p.GracePeriodSeconds));
        Assert.Equal(JobPhase.Suspended, d.Status.Phase);

        var resumed = WithSpec(suspended, GangSpec());
        // Rank 0 still writing its checkpoint: wait.
        var (stillSuspended, wait) = Step(resumed, [Deleting(Pod("pets-run-1-0", "Running", T0)), Ended("pets-run-1-1", 3)], T0.AddSeconds(60));
        Assert.Empty(wait.Actions.OfType<CreatePod>());
        var start = Run(stillSuspended, [Ended("pets-run-1-0", 3), Ended("pets-run-1-1", 3)], T0.AddSeconds(70));
        Assert.Equal(["pets-run-2-0", "pets-run-2-1"], Created(start).Select(p => p.Metadata.Name));
        Assert.Equal(0, start.Status.Restarts);
    }

    [Fact]
    public void The_deadline_stops_every_worker()
    {
        var spec = GangSpec();
        spec["runPolicy"]!["activeDeadlineSeconds"] = 60;
        var (job, pods) = Running(spec);
        var d = Run(job, pods, T0.AddSeconds(61));
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d.Actions.OfType<DeletePod>().Select(p => p.Name));
    }

    [Fact]
    public void A_stall_restarts_the_gang_once()
    {
        var (job, pods) = Running();
        var d = Run(job, pods, T0.AddMinutes(3));
        Assert.Equal(JobPhase.Restarting, d.Status.Phase);
        Assert.Equal(("Stalled", 0), (Assert.Single(d.Status.RestartHistory!).Reason, d.Status.RestartHistory![0].Worker));
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d.Actions.OfType<DeletePod>().Select(p => p.Name));
    }

    [Fact]
    public void The_kueue_queue_label_of_the_job_reaches_every_worker_and_a_pod_group_is_made_when_asked()
    {
        var job = Job(GangSpec(extra: new JsonObject { ["schedulerName"] = "scheduler-plugins-scheduler", ["podGroup"] = "Coscheduling" }));
        job.Metadata.Labels = new Dictionary<string, string> { [OwnedObjects.KueueQueueLabel] = "team-a" };
        var d = Run(job, [], T0);
        Assert.All(Created(d), p =>
        {
            Assert.Equal("team-a", p.Metadata.Labels[OwnedObjects.KueueQueueLabel]);
            Assert.Equal("pets-run-1", p.Metadata.Labels[OwnedObjects.CoschedulingGroupLabel]);
            Assert.Equal("scheduler-plugins-scheduler", p.Spec.SchedulerName);
        });
        var group = Assert.IsType<PodGroupObject>(Assert.Single(d.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "PodGroup").Object);
        Assert.Equal(("scheduling.x-k8s.io/v1alpha1", "pets-run-1", 2), (group.ApiVersion, group.Metadata.Name, group.Spec.MinMember));
    }

    [Fact]
    public void Derived_names_of_a_long_job_stay_dns_labels()
    {
        var name = new string('a', 200) + ".b";
        Assert.Equal($"{name}-run-3-1", OwnedObjects.PodName(name, 3, 1, 2));
        Assert.Equal((3, 1), (OwnedObjects.AttemptOf(name, $"{name}-run-3-1"), OwnedObjects.WorkerOf(name, $"{name}-run-3-1")));
        Assert.Equal((3, 0), (OwnedObjects.AttemptOf(name, $"{name}-run-3"), OwnedObjects.WorkerOf(name, $"{name}-run-3")));
        foreach (var label in new[] { OwnedObjects.GangServiceName(name), OwnedObjects.WorkerHostname(name, 3, 1), OwnedObjects.PodGroupName(name, 3) })
        {
            Assert.InRange(label.Length, 1, 63);
            Assert.Matches("^[a-z]([-a-z0-9]*[a-z0-9])?$", label);
        }

        Assert.NotEqual(OwnedObjects.WorkerHostname(name, 3, 0), OwnedObjects.WorkerHostname(name, 3, 1));
        Assert.Equal("pets-workers", OwnedObjects.GangServiceName("pets"));
        Assert.StartsWith("j1pets-workers-", OwnedObjects.GangServiceName("1pets"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_whose_node_stopped_reporting_ends_the_attempt_and_is_deleted_at_once()
    {
        var (job, _) = Running();
        var lost = Pod("pets-run-1-1", "Unknown", T0);
        var d = Run(job, [Pod("pets-run-1-0", "Running", T0), lost], T0.AddSeconds(40));
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("NodeLost", 1), (record.Reason, record.Worker));
        Assert.Contains(new DeletePod("pets-run-1-1", 0), d.Actions.OfType<DeletePod>());
        Assert.Contains(new DeletePod("pets-run-1-0", Options.TerminationGracePeriodSeconds), d.Actions.OfType<DeletePod>());
    }

    [Fact]
    public void A_segment_end_rolls_the_whole_gang_without_counting_a_failure()
    {
        var spec = GangSpec();
        spec["runPolicy"]!["maxSegmentDuration"] = "1h";
        spec["runPolicy"]!["stallTimeout"] = "2h";
        var (job, pods) = Running(spec);
        job = WithTrainerStatus(job, 50, T0.AddMinutes(59));
        var d = Run(job, pods, T0.AddHours(1).AddSeconds(1));
        Assert.Equal(JobPhase.Restarting, d.Status.Phase);
        Assert.Equal(("SegmentRoll", 0), (Assert.Single(d.Status.RestartHistory!).Reason, d.Status.Restarts));
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d.Actions.OfType<DeletePod>().Select(p => p.Name));
    }

    [Fact]
    public void A_worker_that_finished_before_rank_0_keeps_the_job_running()
    {
        var (job, _) = Running();
        var d = Run(job, [Pod("pets-run-1-0", "Running", T0), Ended("pets-run-1-1", 0)], T0.AddSeconds(40));
        Assert.Equal(JobPhase.Running, d.Status.Phase);
        Assert.Empty(d.Actions.OfType<DeletePod>());
        Assert.Null(d.Status.RestartHistory);
    }

    [Fact]
    public void Cleanup_after_finishing_deletes_every_worker()
    {
        var spec = GangSpec();
        spec["runPolicy"]!["cleanupSecondsAfterFinished"] = 60;
        var (job, _) = Running(spec);
        List<V1Pod> ended = [Ended("pets-run-1-0", 0), Ended("pets-run-1-1", 0)];
        (job, _) = Step(job, ended, T0.AddSeconds(40));
        Assert.Equal(JobPhase.Succeeded, BiTJobStatus.FromJson(job.Status).Phase);
        var d = Run(job, ended, T0.AddSeconds(120));
        Assert.Equal(["pets-run-1-0", "pets-run-1-1"], d.Actions.OfType<DeletePod>().Select(p => p.Name));
    }
}
