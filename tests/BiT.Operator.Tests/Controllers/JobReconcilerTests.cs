using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

public sealed class JobReconcilerTests
{
    private readonly FakePlanner _planner = new();

    private JobReconciler Reconciler(ControllerOptions? options = null) => new(options ?? Options, _planner);

    private ReconcileDecision Run(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, JobObject? upstream = null, JobKind? kind = null) =>
        Reconciler().Reconcile(new ReconcileInput(kind ?? JobKind.FineTune, job, pods, upstream, now));

    /// <summary>Runs the reconcile and applies its status patch, as the executor and API server would.</summary>
    private (JobObject Job, ReconcileDecision Decision) Step(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, JobObject? upstream = null)
    {
        var d = Run(job, pods, now, upstream);
        return (WithStatusPatch(job, d.StatusPatch), d);
    }

    private static V1Pod CreatedPod(ReconcileDecision d) => Assert.Single(d.Actions.OfType<CreatePod>()).Pod;

    [Fact]
    public void A_new_job_gets_its_owned_objects_and_first_pod_and_a_pending_status()
    {
        var (job, d) = Step(Job(), [], T0);
        Assert.Equal(
            ["ConfigMap", "ServiceAccount", "Role", "RoleBinding"],
            d.Actions.OfType<EnsureObject>().Select(e => e.Object.Kind));
        var pod = CreatedPod(d);
        Assert.Equal("pets-run-1", pod.Metadata.Name);
        var status = d.Status;
        Assert.Equal(JobPhase.Pending, status.Phase);
        Assert.Equal("pets-run-1", status.PodName);
        Assert.Equal("True", status.FindCondition(ConditionTypes.Validated)!.Status);
        Assert.Equal(500, status.Hyperparameters!.TotalSteps);
        Assert.Equal(1, status.ObservedGeneration);
        Assert.NotNull(d.StatusPatch);
        Assert.Equal(T0, BiTJobStatus.FromJson(job.Status).StartTime);
    }

    [Fact]
    public void A_spec_without_the_datas_size_and_image_size_is_validated_and_gets_a_pod_with_a_deferred_plan()
    {
        var spec = ContractsJobPlannerTests.RealSpec();
        spec["dataset"]!.AsObject().Remove("trainExamples");
        spec["dataset"]!.AsObject().Remove("imageSize");
        var reconciler = new JobReconciler(Options, new ContractsJobPlanner());
        var d = reconciler.Reconcile(new ReconcileInput(JobKind.FineTune, Job(spec), [], null, T0));

        var validated = d.Status.FindCondition(ConditionTypes.Validated)!;
        Assert.Equal("True", validated.Status);
        Assert.Equal(JobPhase.Pending, d.Status.Phase);
        var pod = CreatedPod(d);
        var configMap = Assert.IsType<V1ConfigMap>(Assert.Single(d.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "ConfigMap").Object);
        Assert.Contains(pod.Spec.Volumes, v => v.ConfigMap?.Name == configMap.Metadata.Name);
        var plan = TrainingPlan.FromJson(configMap.Data["plan.json"]);
        Assert.True(plan.IsDeferred);
        Assert.Equal(d.Status.PlanHash, PlanHash.Compute(plan));
        // No hyperparameters until the trainer has measured the data; the condition says which facts it measures.
        Assert.Null(d.Status.Hyperparameters);
        Assert.Contains("spec.dataset.trainExamples", validated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reconcile_with_nothing_to_do_makes_no_writes()
    {
        var (job, _) = Step(Job(), [], T0);
        var pending = Pod("pets-run-1", "Pending");
        (job, _) = Step(job, [pending], T0.AddSeconds(1));
        var again = Run(job, [pending], T0.AddSeconds(30));
        Assert.Empty(again.Actions);
        Assert.Null(again.StatusPatch);

        var running = Pod("pets-run-1", "Running", T0.AddSeconds(40));
        Assert.Equal(("False", "PodPending"), (BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Ready)!.Status, BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Ready)!.Reason));
        (job, var d) = Step(job, [running], T0.AddSeconds(41));
        Assert.Equal(JobPhase.Running, d.Status.Phase);
        var ready = d.Status.FindCondition(ConditionTypes.Ready)!;
        Assert.Equal(("True", "Running", 1L), (ready.Status, ready.Reason, ready.ObservedGeneration));
        var quiet = Run(job, [running], T0.AddSeconds(50));
        Assert.Empty(quiet.Actions);
        Assert.Null(quiet.StatusPatch);

        // Only the stall check asks for another look, at the exact moment it would fire.
        Assert.Equal(TimeSpan.FromSeconds(110), quiet.RequeueAfter);
    }

    [Fact]
    public void A_crash_after_creating_the_pod_but_before_the_status_write_creates_no_second_pod()
    {
        var first = Run(Job(), [], T0);
        Assert.Single(first.Actions.OfType<CreatePod>());

        // The status patch was lost; the pod exists in the cache.
        var again = Run(Job(), [Pod("pets-run-1", "Pending")], T0.AddSeconds(5));
        Assert.Empty(again.Actions.OfType<CreatePod>());
        Assert.Equal("pets-run-1", again.Status.PodName);
    }

    [Theory]
    [InlineData("runPolicy", "stallTimeout", "\"soon\"", "spec.runPolicy.stallTimeout")]
    [InlineData("runPolicy", "maxRestarts", "-1", "spec.runPolicy.maxRestarts")]
    [InlineData("runPolicy", "onStall", "\"Explode\"", "spec.runPolicy.onStall")]
    [InlineData("resources", "gpus", "\"two\"", "spec.resources.gpus")]
    [InlineData("resources", "memory", "\"lots\"", "spec.resources.memory")]
    [InlineData("dataset", "numClasses", "1", "spec.dataset.numClasses")]
    [InlineData("runPolicy", "backoffSeconds", "3000", "spec.runPolicy.backoffSeconds")]
    [InlineData("resources", "priorityClassName", "\"High_Priority\"", "spec.resources.priorityClassName")]
    [InlineData("checkpoint", "volume", "{\"claimName\":\"c\",\"size\":\"1Gi\"}", "spec.checkpoint.volume")]
    public void A_bad_spec_fails_validation_naming_the_field_with_one_event_and_no_hot_loop(string section, string field, string json, string path)
    {
        var spec = Spec();
        var obj = spec[section] as JsonObject ?? new JsonObject();
        obj[field] = JsonNode.Parse(json);
        spec[section] = obj;
        var (job, d) = Step(Job(spec), [], T0);
        var validated = d.Status.FindCondition(ConditionTypes.Validated)!;
        Assert.Equal("False", validated.Status);
        Assert.Equal(JobReconciler.InvalidSpecReason, validated.Reason);
        Assert.Contains(path, validated.Message, StringComparison.Ordinal);
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.Equal(("False", JobReconciler.InvalidSpecReason), (d.Status.FindCondition(ConditionTypes.Ready)!.Status, d.Status.FindCondition(ConditionTypes.Ready)!.Reason));
        var evt = Assert.Single(d.Actions.OfType<RecordEvent>());
        Assert.Contains(path, evt.Message, StringComparison.Ordinal);
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Null(d.RequeueAfter);

        var again = Run(job, [], T0.AddSeconds(10));
        Assert.Empty(again.Actions);
        Assert.Null(again.StatusPatch);
        Assert.Null(again.RequeueAfter);
    }

    [Fact]
    public void A_dataset_claim_needs_an_absolute_path_to_be_mounted_at()
    {
        var spec = Spec();
        spec["dataset"]!["volume"] = new JsonObject { ["claimName"] = "pets-data" };
        Assert.Empty(JobView.Of(JobKind.FineTune, Job(spec)).Errors);
        spec["dataset"]!["path"] = "pets";
        var d = Run(Job(spec), [], T0);
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.StartsWith("spec.dataset.path: must be an absolute path", d.Status.FindCondition(ConditionTypes.Validated)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_fine_tune_jobs_upstream_name_is_read_for_pretrain_events()
    {
        var spec = Spec();
        Assert.Null(JobSettingsReader.FromPretrainJob(Job(spec).Spec));
        spec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "upstream" } };
        Assert.Equal("upstream", JobSettingsReader.FromPretrainJob(Job(spec).Spec));
        var view = JobView.Of(JobKind.FineTune, Job(spec));
        var (settings, errors) = (view.Settings, view.Errors);
        Assert.Empty(errors);
        Assert.Equal("upstream", settings!.FromPretrainJob);
    }

    [Fact]
    public void Unset_run_policy_fields_take_the_contracts_defaults()
    {
        var spec = Spec();
        spec.Remove("runPolicy");
        var view = JobView.Of(JobKind.FineTune, Job(spec));
        var (settings, errors) = (view.Settings, view.Errors);
        Assert.Empty(errors);
        Assert.Equal(RunPolicy.Default, settings!.RunPolicy);
        Assert.Equal(
            (RunPolicySpec.DefaultMaxRestarts, TimeSpan.FromSeconds(RunPolicySpec.DefaultBackoffSeconds), RunPolicySpec.DefaultStallTimeout, StallAction.Restart),
            (settings.RunPolicy.MaxRestarts, settings.RunPolicy.Backoff, settings.RunPolicy.StallTimeout, settings.RunPolicy.OnStall));
    }

    [Fact]
    public void A_fixed_spec_is_validated_again_and_runs()
    {
        var spec = Spec();
        spec["runPolicy"]!["stallTimeout"] = "never";
        var (job, _) = Step(Job(spec), [], T0);
        var fixedJob = Job(Spec(), generation: 2);
        fixedJob = new JobObject { Kind = fixedJob.Kind, Metadata = fixedJob.Metadata, Spec = fixedJob.Spec, Status = job.Status };
        var d = Run(fixedJob, [], T0.AddSeconds(5));
        Assert.Single(d.Actions.OfType<CreatePod>());
        Assert.Equal("True", d.Status.FindCondition(ConditionTypes.Validated)!.Status);
        Assert.Equal("False", d.Status.FindCondition(ConditionTypes.Failed)!.Status);
        Assert.Equal(2, d.Status.ObservedGeneration);
    }

    [Theory]
    [InlineData("evil.example/miner:latest", false)]
    [InlineData("registry.local/bit/trainer:2", true)]
    [InlineData("trainer:1", true)]
    public void Images_outside_the_allow_list_are_refused(string image, bool allowed)
    {
        var spec = Spec();
        spec["image"] = image;
        var d = Run(Job(spec), [], T0);
        if (allowed)
        {
            Assert.Equal(image, CreatedPod(d).Spec.Containers[0].Image);
        }
        else
        {
            Assert.Empty(d.Actions.OfType<CreatePod>());
            Assert.Contains("spec.image", d.Status.FindCondition(ConditionTypes.Validated)!.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Success_records_the_result_and_completion_and_an_event()
    {
        var (job, _) = Step(Job(), [], T0);
        var done = Ended("pets-run-1", 0, "{\"top1\":0.912,\"top5\":0.99,\"modelPath\":\"/checkpoints/final/model.npz\"}");
        (job, var d) = Step(job, [done], T0.AddMinutes(5));
        Assert.Equal(JobPhase.Succeeded, d.Status.Phase);
        Assert.Equal(0.912, d.Status.Result!.Top1);
        Assert.Equal(T0.AddMinutes(5), d.Status.CompletionTime);
        Assert.Contains("0.912", Assert.Single(d.Actions.OfType<RecordEvent>()).Message, StringComparison.Ordinal);
        var again = Run(job, [done], T0.AddMinutes(6));
        Assert.Empty(again.Actions);
        Assert.Null(again.StatusPatch);
    }

    [Fact]
    public void A_result_the_trainer_wrote_into_the_status_is_kept()
    {
        var (job, _) = Step(Job(), [], T0);
        job = WithStatusPatch(job, new JsonObject { ["result"] = new JsonObject { ["top1"] = 0.5 } });
        var d = Run(job, [Ended("pets-run-1", 0, "done")], T0.AddMinutes(1));
        Assert.Equal(0.5, d.Status.Result!.Top1);
    }

    [Fact]
    public void A_result_the_trainer_wrote_wins_over_its_last_words_and_is_not_written_again()
    {
        var (job, _) = Step(Job(), [], T0);
        job = WithStatusPatch(job, new JsonObject
        {
            ["result"] = new JsonObject { ["top1"] = 0.75, ["top5"] = 0.95, ["modelPath"] = "/checkpoints/final/model.npz" },
        });
        var d = Run(job, [Ended("pets-run-1", 0, "{\"top1\":0.1,\"top5\":0.2,\"modelPath\":\"/elsewhere.npz\"}")], T0.AddMinutes(1));
        Assert.Equal(JobPhase.Succeeded, d.Status.Phase);
        Assert.Equal((0.75, 0.95, "/checkpoints/final/model.npz"), (d.Status.Result!.Top1, d.Status.Result.Top5, d.Status.Result.ModelPath));
        Assert.False(d.StatusPatch!.ContainsKey("result"));
        Assert.Contains("0.75", d.StatusPatch["conditions"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_status_patch_never_touches_the_trainers_progress_and_checkpoint()
    {
        var (job, _) = Step(Job(), [], T0);
        job = WithTrainerStatus(job, 37, T0.AddSeconds(50), checkpointStep: 30);
        (job, var d) = Step(job, [Ended("pets-run-1", 137, reason: "Error")], T0.AddSeconds(60));
        Assert.NotNull(d.StatusPatch);
        Assert.All(d.StatusPatch.Select(p => p.Key), k => Assert.Contains(k, BiTJobStatus.OperatorFields));
        var after = BiTJobStatus.FromJson(job.Status);
        Assert.Equal((37, 30), (after.Progress!.Step, after.Checkpoint!.Step));
        Assert.Equal(JobPhase.Restarting, after.Phase);
    }

    [Fact]
    public void Times_the_server_wrote_in_another_form_are_no_change()
    {
        var (job, _) = Step(Job(), [], T0);
        var running = Pod("pets-run-1", "Running", T0.AddSeconds(40));
        (job, _) = Step(job, [running], T0.AddSeconds(41));
        var text = job.Status!.Value.GetRawText()
            .Replace("2026-11-26T12:00:41Z", "2026-11-26T13:00:41.000+01:00", StringComparison.Ordinal)
            .Replace("2026-11-26T12:00:00Z", "2026-11-26T12:00:00.000000Z", StringComparison.Ordinal);
        Assert.NotEqual(job.Status.Value.GetRawText(), text);
        var rewritten = new JobObject { Kind = job.Kind, Metadata = job.Metadata, Spec = job.Spec, Status = System.Text.Json.JsonDocument.Parse(text).RootElement.Clone() };
        var d = Run(rewritten, [running], T0.AddSeconds(50));
        Assert.Null(d.StatusPatch);
        Assert.Empty(d.Actions);
    }

    [Fact]
    public void A_conditions_transition_time_moves_only_when_its_status_flips()
    {
        var spec = Spec();
        spec["runPolicy"]!["onStall"] = "None";
        var (job, _) = Step(Job(spec), [], T0);
        var pending = BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Running)!;
        Assert.Equal((ConditionStatus.False, T0), (pending.Status, pending.LastTransitionTime));

        var pod = Pod("pets-run-1", "Running", T0.AddSeconds(10));
        (job, _) = Step(job, [pod], T0.AddSeconds(11));
        Assert.Equal(T0.AddSeconds(11), BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Running)!.LastTransitionTime);

        // A stall changes Stalled (new) but Running stays True: its time stays.
        (job, var d) = Step(job, [pod], T0.AddMinutes(5));
        Assert.True(d.Status.IsConditionTrue(ConditionTypes.Stalled));
        Assert.Equal(T0.AddMinutes(5), d.Status.FindCondition(ConditionTypes.Stalled)!.LastTransitionTime);
        Assert.Equal(T0.AddSeconds(11), d.Status.FindCondition(ConditionTypes.Running)!.LastTransitionTime);
        Assert.Equal(T0.AddSeconds(11), BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Running)!.LastTransitionTime);
    }

    [Fact]
    public void The_restart_history_keeps_the_newest_records_up_to_the_schemas_bound()
    {
        var (job, _) = Step(Job(), [], T0);
        var full = new JsonArray([.. Enumerable.Range(0, BiTJobStatus.MaxRestartHistory).Select(i => (JsonNode?)new JsonObject
        {
            ["time"] = KubeTimeJsonConverter.ToWire(T0.AddSeconds(i)), ["reason"] = "Evicted", ["resumedFromStep"] = i,
        })]);
        job = WithStatusPatch(job, new JsonObject { ["restartHistory"] = full, ["restarts"] = 1, ["podName"] = "pets-run-1" });
        var d = Run(job, [Ended("pets-run-1", 137, reason: "Error")], T0.AddMinutes(1));
        var history = d.Status.RestartHistory!;
        Assert.Equal(20, history.Count);
        Assert.Equal(1, history[0].ResumedFromStep);
        Assert.Equal(("Killed", T0.AddMinutes(1)), (history[^1].Reason, history[^1].Time));
    }

    [Fact]
    public void A_permanent_trainer_failure_fails_the_job_with_the_trainers_message()
    {
        var (job, _) = Step(Job(), [], T0);
        var d = Run(job, [Ended("pets-run-1", 4, "step 3\nloss became NaN at step 4")], T0.AddMinutes(1));
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        var failed = d.Status.FindCondition(ConditionTypes.Failed)!;
        Assert.Equal("TrainerFailed", failed.Reason);
        Assert.Equal("loss became NaN at step 4", failed.Message);
        Assert.Empty(d.Actions.OfType<CreatePod>());
    }

    [Fact]
    public void A_retryable_end_restarts_from_the_checkpoint_after_the_backoff()
    {
        var (job, _) = Step(Job(), [], T0);
        job = WithTrainerStatus(job, 37, T0.AddSeconds(50), checkpointStep: 30);
        var ended = Ended("pets-run-1", 137, reason: "Error");
        (job, var d) = Step(job, [ended], T0.AddSeconds(60));
        Assert.Equal(JobPhase.Restarting, d.Status.Phase);
        Assert.Equal(1, d.Status.Restarts);
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("Killed", 137, 30), (record.Reason, record.ExitCode, record.ResumedFromStep));
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Equal(TimeSpan.FromSeconds(10), d.RequeueAfter);

        // Woken early (a pod event): nothing yet, same wake-up time.
        var early = Run(job, [ended], T0.AddSeconds(64));
        Assert.Empty(early.Actions);
        Assert.Null(early.StatusPatch);
        Assert.Equal(TimeSpan.FromSeconds(6), early.RequeueAfter);

        (job, d) = Step(job, [ended], T0.AddSeconds(70));
        Assert.Equal(new DeletePod("pets-run-1", 0), d.Actions.OfType<DeletePod>().Single());
        Assert.Equal("pets-run-2", CreatedPod(d).Metadata.Name);
        Assert.Equal(JobPhase.Pending, d.Status.Phase);
        Assert.Equal(1, d.Status.Restarts);

        (_, d) = Step(job, [Pod("pets-run-2", "Running", T0.AddSeconds(75))], T0.AddSeconds(76));
        Assert.Equal(JobPhase.Running, d.Status.Phase);
        Assert.Equal("False", d.Status.FindCondition(ConditionTypes.Restarting)!.Status);
    }

    [Fact]
    public void The_restart_history_records_the_checkpoint_the_next_pod_resumed_from_not_the_last_one_reported()
    {
        var (job, _) = Step(Job(), [], T0);
        // Pod 1 restored nothing (step 0) and reported a checkpoint at step 50; the step-50 file turns out torn, so
        // pod 2 resumes from step 30.
        job = WithStatusPatch(job, new JsonObject { ["resumed"] = new JsonObject { ["podName"] = "pets-run-1", ["step"] = 0 } });
        job = WithTrainerStatus(job, 55, T0.AddSeconds(50), checkpointStep: 50);
        var ended = Ended("pets-run-1", 137, reason: "Error");
        (job, var d) = Step(job, [ended], T0.AddSeconds(60));
        var record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("pets-run-1", 50), (record.PodName, record.ResumedFromStep));

        (job, d) = Step(job, [ended], T0.AddSeconds(70));
        Assert.Equal("pets-run-2", CreatedPod(d).Metadata.Name);
        // Pod 1's own report (step 0) is about the start of pod 1, not about this restart.
        Assert.Equal(50, Assert.Single(d.Status.RestartHistory!).ResumedFromStep);

        job = WithStatusPatch(job, new JsonObject { ["resumed"] = new JsonObject { ["podName"] = "pets-run-2", ["step"] = 30 } });
        (job, d) = Step(job, [Pod("pets-run-2", "Running", T0.AddSeconds(75))], T0.AddSeconds(76));
        record = Assert.Single(d.Status.RestartHistory!);
        Assert.Equal(("pets-run-1", 30), (record.PodName, record.ResumedFromStep));
        Assert.NotNull(d.StatusPatch);

        // The next restart starts from what pod 2 reported; the first entry keeps 30.
        job = WithTrainerStatus(job, 45, T0.AddSeconds(90), checkpointStep: 40);
        (_, d) = Step(job, [Ended("pets-run-2", 143, reason: "Error")], T0.AddSeconds(100));
        Assert.Equal([("pets-run-1", 30), ("pets-run-2", 40)], d.Status.RestartHistory!.Select(r => (r.PodName!, r.ResumedFromStep ?? -1)));
    }

    [Fact]
    public void A_pod_adopted_after_a_lost_status_write_gives_the_job_its_start_time_and_deadline()
    {
        // The operator created pets-run-1 at T0 and stopped before writing the status that names it.
        var spec = Spec();
        spec["runPolicy"]!["activeDeadlineSeconds"] = 600;
        var pod = Pod("pets-run-1", "Running", T0);
        pod.Metadata.CreationTimestamp = T0.UtcDateTime;
        var (job, d) = Step(Job(spec), [pod], T0.AddMinutes(3));
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Equal(("pets-run-1", T0), (d.Status.PodName, d.Status.StartTime));

        // So the deadline still counts from the pod's creation.
        (_, d) = Step(job, [pod], T0.AddMinutes(11));
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.Equal("DeadlineExceeded", d.Status.FindCondition(ConditionTypes.Failed)!.Reason);
    }

    [Fact]
    public void A_pod_that_ended_after_a_lost_status_write_is_recorded_as_one_restart_not_one_per_reconcile()
    {
        // pets-run-1 was created, its status write lost, and it was killed before the next operator looked.
        var ended = Ended("pets-run-1", 137, reason: "Error");
        var (job, d) = Step(Job(), [ended], T0.AddSeconds(60));
        Assert.Equal((JobPhase.Restarting, 1, "pets-run-1"), (d.Status.Phase, d.Status.Restarts, d.Status.PodName));
        Assert.Equal("pets-run-1", Assert.Single(d.Status.RestartHistory!).PodName);

        for (var i = 1; i <= 3; i++)
        {
            (job, d) = Step(job, [ended], T0.AddSeconds(60 + i));
            Assert.Empty(d.Actions.OfType<CreatePod>());
            Assert.Equal(1, BiTJobStatus.FromJson(job.Status).Restarts);
            Assert.Single(BiTJobStatus.FromJson(job.Status).RestartHistory!);
        }

        (_, d) = Step(job, [ended], T0.AddSeconds(71));
        Assert.Equal("pets-run-2", CreatedPod(d).Metadata.Name);
    }

    [Fact]
    public void Backoff_doubles_with_each_restart()
    {
        var policy = RunPolicy.Default with { Backoff = TimeSpan.FromSeconds(10) };
        Assert.Equal(
            [10, 20, 40, 80, 160, 320, 600, 600],
            Enumerable.Range(1, 8).Select(i => policy.BackoffFor(i).TotalSeconds));
    }

    [Fact]
    public void Past_max_restarts_the_job_fails()
    {
        var (job, _) = Step(Job(), [], T0);
        job = WithStatusPatch(job, new JsonObject { ["restarts"] = 3, ["podName"] = "pets-run-4" });
        var d = Run(job, [Ended("pets-run-4", 143)], T0.AddMinutes(1));
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        Assert.Equal("RestartLimitExceeded", d.Status.FindCondition(ConditionTypes.Failed)!.Reason);
        Assert.Empty(d.Actions.OfType<CreatePod>());
    }

    [Fact]
    public void A_pod_that_vanished_without_our_deletion_counts_as_a_restart()
    {
        var (job, _) = Step(Job(), [], T0);
        (job, _) = Step(job, [Pod("pets-run-1", "Running", T0)], T0.AddSeconds(1));
        var d = Run(job, [], T0.AddSeconds(20));
        Assert.Equal(JobPhase.Restarting, d.Status.Phase);
        Assert.Equal("PodDeleted", d.Status.RestartHistory!.Single().Reason);
    }

    [Fact]
    public void A_pod_on_a_lost_node_is_deleted_and_restarted()
    {
        var (job, _) = Step(Job(), [], T0);
        var d = Run(job, [Pod("pets-run-1", "Unknown")], T0.AddSeconds(20));
        Assert.Equal(new DeletePod("pets-run-1", 0), Assert.Single(d.Actions.OfType<DeletePod>()));
        Assert.Equal("NodeLost", d.Status.RestartHistory!.Single().Reason);
    }

    [Theory]
    [InlineData(StallAction.Restart)]
    [InlineData(StallAction.Fail)]
    [InlineData(StallAction.None)]
    public void A_stall_sets_the_condition_then_follows_onStall(StallAction onStall)
    {
        var spec = Spec();
        spec["runPolicy"]!["onStall"] = onStall.ToString();
        var (job, _) = Step(Job(spec), [], T0);
        var pod = Pod("pets-run-1", "Running", T0);
        (job, _) = Step(job, [pod], T0.AddSeconds(1));
        job = WithTrainerStatus(job, 10, T0.AddMinutes(1));
        var before = Run(job, [pod], T0.AddMinutes(2));
        Assert.Equal(TimeSpan.FromMinutes(1), before.RequeueAfter);
        Assert.Null(before.StatusPatch);

        var d = Run(job, [pod], T0.AddMinutes(3));
        var stalled = d.Status.FindCondition(ConditionTypes.Stalled)!;
        Assert.Equal("True", stalled.Status);
        Assert.Contains(d.Actions.OfType<RecordEvent>(), e => e.Reason == "Stalled");
        switch (onStall)
        {
            case StallAction.Restart:
                Assert.Equal(new DeletePod("pets-run-1", Options.StalledPodGracePeriodSeconds), Assert.Single(d.Actions.OfType<DeletePod>()));
                Assert.Equal(JobPhase.Restarting, d.Status.Phase);
                Assert.Equal("Stalled", d.Status.RestartHistory!.Single().Reason);
                break;
            case StallAction.Fail:
                Assert.Single(d.Actions.OfType<DeletePod>());
                Assert.Equal(JobPhase.Failed, d.Status.Phase);
                break;
            default:
                Assert.Empty(d.Actions.OfType<DeletePod>());
                Assert.Equal(JobPhase.Running, d.Status.Phase);
                break;
        }
    }

    [Fact]
    public void Progress_after_a_stall_clears_the_condition()
    {
        var spec = Spec();
        spec["runPolicy"]!["onStall"] = "None";
        var (job, _) = Step(Job(spec), [], T0);
        var pod = Pod("pets-run-1", "Running", T0);
        (job, _) = Step(job, [pod], T0.AddMinutes(3));
        Assert.Equal("True", BiTJobStatus.FromJson(job.Status).FindCondition(ConditionTypes.Stalled)!.Status);
        job = WithTrainerStatus(job, 11, T0.AddMinutes(4));
        var d = Run(job, [pod], T0.AddMinutes(4).AddSeconds(1));
        Assert.Equal("False", d.Status.FindCondition(ConditionTypes.Stalled)!.Status);
    }

    [Fact]
    public void Suspend_deletes_the_pod_gracefully_and_resume_starts_the_next_without_counting_a_restart()
    {
        var (job, _) = Step(Job(), [], T0);
        var pod = Pod("pets-run-1", "Running", T0);
        (job, _) = Step(job, [pod], T0.AddSeconds(1));
        var spec = Spec();
        spec["suspend"] = true;
        var suspended = WithSpec(job, spec);
        (suspended, var d) = Step(suspended, [pod], T0.AddSeconds(30));
        Assert.Equal(new DeletePod("pets-run-1", Options.TerminationGracePeriodSeconds), Assert.Single(d.Actions.OfType<DeletePod>()));
        Assert.Equal(JobPhase.Suspended, d.Status.Phase);
        Assert.Contains(d.Actions.OfType<RecordEvent>(), e => e.Reason == "Suspended");

        // The trainer checkpointed and exited 3; the pod is gone.
        var idle = Run(suspended, [], T0.AddSeconds(60));
        Assert.Empty(idle.Actions);
        Assert.Null(idle.StatusPatch);

        var resumed = WithSpec(suspended, Spec());
        d = Run(resumed, [], T0.AddSeconds(90));
        Assert.Equal("pets-run-2", CreatedPod(d).Metadata.Name);
        Assert.Equal(0, d.Status.Restarts);
        Assert.Equal("False", d.Status.FindCondition(ConditionTypes.Suspended)!.Status);
    }

    [Fact]
    public void A_run_that_finished_while_being_suspended_is_a_success()
    {
        var (job, _) = Step(Job(), [], T0);
        var spec = Spec();
        spec["suspend"] = true;
        var d = Run(WithSpec(job, spec), [Ended("pets-run-1", 0, LastWords)], T0.AddMinutes(1));
        Assert.Equal(JobPhase.Succeeded, d.Status.Phase);
        Assert.Equal(0.12, d.Status.Result!.Top1!.Value, 6);
        Assert.Equal("/checkpoints/final/model.npz", d.Status.Result!.ModelPath);
    }

    /// <summary>The tail of a trainer's output: the sentence for people, then its result as data.</summary>
    private static readonly string LastWords =
        "done: top-1 12.00 %, top-5 79.80 % after 20 steps; model /checkpoints/final/model.npz\n"
        + TrainerResult.ToMessage(new ResultStatus { Top1 = 0.12, Top5 = 0.798, ModelPath = "/checkpoints/final/model.npz" }, 20);

    [Fact]
    public void The_human_summary_line_alone_is_not_read_as_a_result()
    {
        var (job, _) = Step(Job(), [], T0);
        var d = Run(job, [Ended("pets-run-1", 0, "done: top-1 12.00 %, top-5 79.80 % after 20 steps; model /checkpoints/final/model.npz")], T0.AddMinutes(1));
        Assert.Equal(JobPhase.Succeeded, d.Status.Phase);
        Assert.Null(d.Status.Result);
    }

    [Fact]
    public void Ttl_after_finished_requeues_for_exactly_the_remaining_time_then_deletes_the_job()
    {
        var spec = Spec();
        spec["runPolicy"]!["ttlSecondsAfterFinished"] = 60;
        var (job, _) = Step(Job(spec), [], T0);
        (job, var d) = Step(job, [Ended("pets-run-1", 0)], T0.AddMinutes(1));
        Assert.Equal(TimeSpan.FromSeconds(60), d.RequeueAfter);
        var mid = Run(job, [Ended("pets-run-1", 0)], T0.AddMinutes(1).AddSeconds(25));
        Assert.Equal(TimeSpan.FromSeconds(35), mid.RequeueAfter);
        Assert.Empty(mid.Actions);
        var due = Run(job, [Ended("pets-run-1", 0)], T0.AddMinutes(2));
        Assert.IsType<DeleteJob>(Assert.Single(due.Actions));
    }

    [Fact]
    public void The_active_deadline_bounds_the_whole_job()
    {
        var spec = Spec();
        spec["runPolicy"]!["activeDeadlineSeconds"] = 600;
        var (job, _) = Step(Job(spec), [], T0);
        var pod = Pod("pets-run-1", "Running", T0);
        job = WithTrainerStatus(job, 1, T0.AddMinutes(9));
        var before = Run(job, [pod], T0.AddMinutes(9));
        Assert.Equal(TimeSpan.FromMinutes(1), before.RequeueAfter);
        var d = Run(job, [pod], T0.AddMinutes(10));
        Assert.Equal("DeadlineExceeded", d.Status.FindCondition(ConditionTypes.Failed)!.Reason);
        Assert.Single(d.Actions.OfType<DeletePod>());
    }

    [Fact]
    public void Max_segment_duration_rolls_the_pod_gracefully_without_counting_a_restart()
    {
        var spec = Spec();
        spec["runPolicy"]!["maxSegmentDuration"] = "1h";
        spec["runPolicy"]!["stallTimeout"] = "2h";
        var (job, _) = Step(Job(spec), [], T0);
        var pod = Pod("pets-run-1", "Running", T0);
        job = WithTrainerStatus(job, 100, T0.AddMinutes(59), checkpointStep: 90);
        (job, var d) = Step(job, [pod], T0.AddHours(1));
        Assert.Equal(new DeletePod("pets-run-1", Options.TerminationGracePeriodSeconds), Assert.Single(d.Actions.OfType<DeletePod>()));
        Assert.Equal(0, d.Status.Restarts);
        Assert.Equal(("SegmentRoll", 90), (d.Status.RestartHistory!.Single().Reason, d.Status.RestartHistory!.Single().ResumedFromStep));

        // Pod gone: the next one starts at once (no backoff for a planned roll).
        d = Run(job, [], T0.AddHours(1).AddSeconds(20));
        Assert.Equal("pets-run-2", CreatedPod(d).Metadata.Name);
    }

    [Fact]
    public void A_fine_tune_job_waits_for_its_pretrain_job_then_mounts_its_output_read_only()
    {
        var spec = Spec();
        spec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "upstream" } };
        var up = Job(Spec(), name: "upstream", kind: "BiTPretrainJob");
        up = WithStatusPatch(up, new JsonObject { ["phase"] = "Running" });
        var (job, d) = Step(Job(spec), [], T0, up);
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Equal(JobPhase.Pending, d.Status.Phase);
        Assert.Equal("WaitingForPretrainJob", d.Status.FindCondition(ConditionTypes.Running)!.Reason);

        up = WithStatusPatch(up, new JsonObject { ["phase"] = "Succeeded", ["result"] = new JsonObject { ["modelPath"] = "/checkpoints/final/model.npz" } });
        d = Run(job, [], T0.AddMinutes(1), up);
        var pod = CreatedPod(d);
        var volume = pod.Spec.Volumes.Single(v => v.Name == "pretrained");
        Assert.Equal(("pets-ckpt", true), (volume.PersistentVolumeClaim.ClaimName, volume.PersistentVolumeClaim.ReadOnlyProperty == true));
        var mount = pod.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "pretrained");
        Assert.True(mount.ReadOnlyProperty);
        // The upstream job wrote into its own directory of the (shared, existing) claim; this job writes into its own.
        Assert.Equal("upstream", mount.SubPath);
        Assert.Equal("pets", pod.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "checkpoints").SubPath);
        Assert.Equal("/pretrained/final/model.npz", _planner.Contexts[^1].PretrainedWeightsPath);
    }

    [Fact]
    public void A_failed_pretrain_job_fails_the_fine_tune_job()
    {
        var spec = Spec();
        spec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "upstream" } };
        var up = WithStatusPatch(Job(Spec(), name: "upstream", kind: "BiTPretrainJob"), new JsonObject { ["phase"] = "Failed" });
        var d = Run(Job(spec), [], T0, up);
        Assert.Equal("PretrainJobFailed", d.Status.FindCondition(ConditionTypes.Failed)!.Reason);
    }

    [Fact]
    public void A_deleted_job_is_left_to_garbage_collection()
    {
        var job = Job();
        job.Metadata.DeletionTimestamp = T0.UtcDateTime;
        var d = Run(job, [Pod("pets-run-1", "Running")], T0);
        Assert.Empty(d.Actions);
        Assert.Null(d.StatusPatch);
    }

    private static JsonObject RetentionSpec(JsonObject volume)
    {
        var spec = Spec();
        spec["checkpoint"]!["volume"] = volume;
        return spec;
    }

    private static JobObject WithFinalizer(JobObject job)
    {
        job.Metadata.Finalizers = [OwnedObjects.CleanupFinalizer];
        return job;
    }

    private static JobObject BeingDeleted(JobObject job)
    {
        job.Metadata.DeletionTimestamp = T0.UtcDateTime;
        return job;
    }

    private static V1Pod CleanupPod(string phase, DateTimeOffset? finished = null)
    {
        var pod = phase == "Running" ? Pod("pets-cleanup", "Running") : Ended("pets-cleanup", phase == "Succeeded" ? 0 : 4, "bit-trainer: error: cannot clean /checkpoints: denied");
        pod.Metadata.Labels = new Dictionary<string, string> { [OwnedObjects.RoleLabel] = OwnedObjects.CleanupRole };
        if (finished is { } f)
        {
            pod.Status.ContainerStatuses[0].State.Terminated.FinishedAt = f.UtcDateTime;
        }

        return pod;
    }

    [Fact]
    public void Only_an_existing_claim_with_on_delete_Delete_gets_the_cleanup_finalizer()
    {
        var d = Run(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Delete" })), [], T0);
        Assert.Equal(new SetFinalizer(OwnedObjects.CleanupFinalizer, true), Assert.Single(d.Actions.OfType<SetFinalizer>()));
        // The finalizer is in place before the first pod is created.
        Assert.True(d.Actions.ToList().FindIndex(a => a is SetFinalizer) < d.Actions.ToList().FindIndex(a => a is CreatePod));

        Assert.Empty(Run(Job(), [], T0).Actions.OfType<SetFinalizer>());
        Assert.Empty(Run(Job(RetentionSpec(new JsonObject { ["size"] = "1Gi" })), [], T0).Actions.OfType<SetFinalizer>());
        Assert.Empty(Run(WithFinalizer(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Delete" }))), [], T0).Actions.OfType<SetFinalizer>());

        // Changed to Retain: the finalizer goes.
        var retain = Run(WithFinalizer(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Retain" }))), [], T0);
        Assert.Equal(new SetFinalizer(OwnedObjects.CleanupFinalizer, false), Assert.Single(retain.Actions.OfType<SetFinalizer>()));
    }

    [Fact]
    public void A_created_claim_is_owned_by_the_job_only_under_on_delete_Delete_and_follows_a_changed_spec()
    {
        var owned = Run(Job(RetentionSpec(new JsonObject { ["size"] = "1Gi" })), [], T0);
        var claim = Assert.IsType<V1PersistentVolumeClaim>(Assert.Single(owned.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "PersistentVolumeClaim").Object);
        Assert.Equal("uid-pets", Assert.Single(claim.Metadata.OwnerReferences).Uid);

        var (job, retained) = Step(Job(RetentionSpec(new JsonObject { ["size"] = "1Gi", ["onDelete"] = "Retain" })), [], T0);
        claim = Assert.IsType<V1PersistentVolumeClaim>(Assert.Single(retained.Actions.OfType<EnsureObject>(), e => e.Object.Kind == "PersistentVolumeClaim").Object);
        Assert.Null(claim.Metadata.OwnerReferences);
        Assert.Empty(retained.Actions.OfType<SetClaimOwner>());

        // The spec changes to Delete (generation 2): the claim's owner is set once, and not again at rest.
        var changed = WithSpec(job, RetentionSpec(new JsonObject { ["size"] = "1Gi", ["onDelete"] = "Delete" }));
        changed.Metadata.Generation = 2;
        var pod = Pod("pets-run-1", "Running");
        var (after, d) = Step(changed, [pod], T0.AddSeconds(5));
        Assert.Equal(new SetClaimOwner("pets-checkpoints", true), Assert.Single(d.Actions.OfType<SetClaimOwner>()));
        Assert.Empty(Run(after, [pod], T0.AddSeconds(10)).Actions.OfType<SetClaimOwner>());
    }

    [Fact]
    public void Deleting_a_job_with_the_finalizer_stops_the_trainer_then_cleans_in_a_pod_then_lets_the_job_go()
    {
        var job = BeingDeleted(WithFinalizer(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Delete" }))));

        // A trainer still running is stopped first; nothing is cleaned under it.
        var d = Run(job, [Pod("pets-run-2", "Running")], T0);
        Assert.Equal("pets-run-2", Assert.Single(d.Actions.OfType<DeletePod>()).Name);
        Assert.Empty(d.Actions.OfType<CreatePod>());
        Assert.Null(d.StatusPatch);

        // Trainer gone: the cleanup pod empties the job's directory of the claim.
        d = Run(job, [Ended("pets-run-2", 3)], T0);
        var cleanup = CreatedPod(d);
        Assert.Equal("pets-cleanup", cleanup.Metadata.Name);
        Assert.Equal(["clean", "--dir", PodPaths.Checkpoints], cleanup.Spec.Containers[0].Args);
        Assert.Equal("shared", cleanup.Spec.Volumes.Single().PersistentVolumeClaim.ClaimName);
        Assert.Equal("pets", cleanup.Spec.Containers[0].VolumeMounts.Single().SubPath);
        Assert.False(cleanup.Spec.AutomountServiceAccountToken);
        Assert.True(cleanup.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal("uid-pets", cleanup.Metadata.OwnerReferences.Single().Uid);
        Assert.Contains(d.Actions.OfType<RecordEvent>(), e => e.Reason == "DeletingCheckpoints");
        Assert.Empty(d.Actions.OfType<SetFinalizer>());

        // Running: wait. Done: the finalizer goes.
        Assert.Empty(Run(job, [CleanupPod("Running")], T0).Actions);
        d = Run(job, [CleanupPod("Succeeded")], T0);
        Assert.Equal(new SetFinalizer(OwnedObjects.CleanupFinalizer, false), Assert.Single(d.Actions.OfType<SetFinalizer>()));
        Assert.Contains(d.Actions.OfType<RecordEvent>(), e => e.Reason == "CheckpointsDeleted");
    }

    [Fact]
    public void A_failed_cleanup_is_reported_and_tried_again_after_a_delay_keeping_the_finalizer()
    {
        var job = BeingDeleted(WithFinalizer(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Delete" }))));
        var failed = CleanupPod("Failed", finished: T0);

        var early = Run(job, [failed], T0.AddSeconds(10));
        Assert.Empty(early.Actions);
        Assert.Equal(TimeSpan.FromSeconds(20), early.RequeueAfter);

        var retry = Run(job, [failed], T0.AddSeconds(31));
        Assert.Equal(new DeletePod("pets-cleanup", 0), Assert.Single(retry.Actions.OfType<DeletePod>()));
        var warning = Assert.Single(retry.Actions.OfType<RecordEvent>());
        Assert.Equal(("Warning", "CheckpointCleanupFailed"), (warning.Type, warning.Reason));
        Assert.Contains("cannot clean /checkpoints: denied", warning.Message, StringComparison.Ordinal);
        Assert.Empty(retry.Actions.OfType<SetFinalizer>());
    }

    [Fact]
    public void A_job_deleted_without_the_finalizer_or_after_switching_to_retain_is_left_to_garbage_collection()
    {
        var plain = BeingDeleted(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Delete" })));
        Assert.Empty(Run(plain, [Pod("pets-run-1", "Running")], T0).Actions);

        var switched = BeingDeleted(WithFinalizer(Job(RetentionSpec(new JsonObject { ["claimName"] = "shared", ["onDelete"] = "Retain" }))));
        var d = Run(switched, [Pod("pets-run-1", "Running")], T0);
        Assert.Equal([new SetFinalizer(OwnedObjects.CleanupFinalizer, false)], d.Actions);
    }

    private static JobObject WithSpec(JobObject job, JsonObject spec) =>
        new() { Kind = job.Kind, Metadata = job.Metadata, Spec = System.Text.Json.JsonSerializer.SerializeToElement(spec), Status = job.Status };
}
