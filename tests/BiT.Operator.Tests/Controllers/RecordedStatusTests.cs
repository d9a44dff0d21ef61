using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Tests.EndToEnd;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

/// <summary>
/// The statuses GitOps tools read, recorded from the reconciler (with the contracts' planner) driving a job of each
/// kind through each state: kstatus's generic rules (<see cref="Kstatus"/>, as Flux applies them) give the
/// documented result for every one, and the recordings committed under
/// tests/BiT.Chart.Tests/GitOps/statuses/recorded/ (where the Argo CD health check's tests run the Lua over them) are
/// exactly what the operator writes now. After a deliberate change of the status, re-record with
/// <c>BIT_RECORD_STATUSES=1 dotnet test tests/BiT.Operator.Tests --filter RecordedStatusTests</c>.
/// </summary>
public sealed class RecordedStatusTests
{
    private static readonly string RecordedDir = Path.Combine(RepoPaths.Root, "tests", "BiT.Chart.Tests", "GitOps", "statuses", "recorded");

    /// <summary>Each state and what kstatus says of it.</summary>
    public static TheoryData<string, string, string> States()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var kind in new[] { JobKind.FineTune, JobKind.Pretrain })
        {
            data.Add(kind.Kind, "pending", Kstatus.InProgress);
            data.Add(kind.Kind, "running", Kstatus.InProgress);
            data.Add(kind.Kind, "restarting", Kstatus.InProgress);
            data.Add(kind.Kind, "stalled", Kstatus.Failed);
            data.Add(kind.Kind, "succeeded", Kstatus.Current);
            data.Add(kind.Kind, "failed", Kstatus.Failed);
            data.Add(kind.Kind, "suspended", Kstatus.Current);
            data.Add(kind.Kind, "invalid-spec", Kstatus.Failed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(States))]
    public void Kstatus_reads_each_recorded_state_as_documented_and_the_committed_recording_is_the_operators(string kind, string state, string expected)
    {
        var obj = Record(JobKind.All.Single(k => k.Kind == kind), state);
        var file = Path.Combine(RecordedDir, $"{(kind == JobKind.Pretrain.Kind ? "pretrain" : "finetune")}-{state}.json");
        var recording = new JsonObject { ["state"] = state, ["object"] = obj };
        if (Environment.GetEnvironmentVariable("BIT_RECORD_STATUSES") == "1")
        {
            Directory.CreateDirectory(RecordedDir);
            File.WriteAllText(file, recording.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        Assert.Equal(expected, Kstatus.Compute(obj));
        Assert.True(File.Exists(file), $"{file} is missing: re-record with BIT_RECORD_STATUSES=1");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(file)), recording),
            $"{file} is not what the operator writes now; re-record with BIT_RECORD_STATUSES=1.\nnow: {recording.ToJsonString()}");
    }

    [Fact]
    public void A_spec_change_the_operator_has_not_acted_on_is_in_progress_whatever_the_conditions_say()
    {
        var obj = Record(JobKind.FineTune, "succeeded");
        obj["metadata"]!["generation"] = 2L;
        Assert.Equal(Kstatus.InProgress, Kstatus.Compute(obj));
        obj["metadata"]!["deletionTimestamp"] = "2026-11-26T13:00:00Z";
        Assert.Equal(Kstatus.Terminating, Kstatus.Compute(obj));
    }

    [Fact]
    public void Reconciling_and_stalled_are_never_true_together_and_carry_the_generation()
    {
        foreach (var kind in new[] { JobKind.FineTune, JobKind.Pretrain })
        {
            foreach (var state in new[] { "pending", "running", "restarting", "stalled", "succeeded", "failed", "suspended", "invalid-spec" })
            {
                var status = BiTJobStatus.FromJson(JsonSerializer.SerializeToElement(Record(kind, state)["status"]));
                var reconciling = status.FindCondition(ConditionTypes.Reconciling);
                Assert.NotNull(reconciling);
                Assert.Equal(1, reconciling.ObservedGeneration);
                Assert.False(status.IsConditionTrue(ConditionTypes.Reconciling) && status.IsConditionTrue(ConditionTypes.Stalled), $"{kind.Kind} {state}");
            }
        }
    }

    [Fact]
    public void A_corrected_spec_lifts_the_failure_and_reconciles_again()
    {
        var reconciler = new JobReconciler(Options, new ContractsJobPlanner());
        var bad = Spec();
        bad["dataset"]!["numClasses"] = 1;
        var job = Job(bad);
        job = WithStatusPatch(job, reconciler.Reconcile(new ReconcileInput(JobKind.FineTune, job, [], null, T0)).StatusPatch);
        Assert.Equal(Kstatus.Failed, Kstatus.Compute(ToObject(job)));

        var fixedJob = new JobObject { Kind = job.Kind, Metadata = job.Metadata, Spec = JsonSerializer.SerializeToElement(Spec()), Status = job.Status };
        fixedJob.Metadata.Generation = 2;
        var d = reconciler.Reconcile(new ReconcileInput(JobKind.FineTune, fixedJob, [], null, T0.AddMinutes(1)));
        fixedJob = WithStatusPatch(fixedJob, d.StatusPatch);
        Assert.Equal(JobPhase.Pending, d.Status.Phase);
        Assert.Equal("False", d.Status.FindCondition(ConditionTypes.Stalled)!.Status);
        Assert.Equal(Kstatus.InProgress, Kstatus.Compute(ToObject(fixedJob)));
    }

    private static JsonObject Spec(JobKind? kind = null) => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "Custom", ["blocks"] = new JsonArray(1, 1, 1, 1), ["widthFactor"] = 0.5 },
        ["dataset"] = new JsonObject
        {
            ["format"] = "Idx",
            ["path"] = "/data/fashion",
            ["numClasses"] = 10,
            ["trainExamples"] = 1000,
            ["imageSize"] = new JsonObject { ["height"] = 28, ["width"] = 28 },
        },
        ["hyperparameters"] = kind == JobKind.Pretrain
            ? new JsonObject { ["batchSize"] = 32, ["totalSteps"] = 20, ["cropSize"] = 28 }
            : new JsonObject { ["batchSize"] = 32, ["totalSteps"] = 20, ["precropSize"] = 36, ["cropSize"] = 32 },
        ["checkpoint"] = new JsonObject { ["everySteps"] = 5 },
        ["runPolicy"] = new JsonObject { ["maxRestarts"] = 3, ["backoffSeconds"] = 10, ["stallTimeout"] = "2m", ["onStall"] = "None" },
    };

    /// <summary>Drives a job of <paramref name="kind"/> to <paramref name="state"/> as the controller would, applying each status patch.</summary>
    internal static JsonObject Record(JobKind kind, string state)
    {
        var reconciler = new JobReconciler(Options, new ContractsJobPlanner());
        var name = kind == JobKind.Pretrain ? "upstream" : "pets";
        JobObject Apply(JobObject job, IReadOnlyList<V1Pod> pods, DateTimeOffset now) =>
            WithStatusPatch(job, reconciler.Reconcile(new ReconcileInput(kind, job, pods, null, now)).StatusPatch);

        var spec = Spec(kind);
        if (state == "invalid-spec")
        {
            spec["dataset"]!["numClasses"] = 1;
            return ToObject(Apply(Job(spec, name, kind.Kind), [], T0));
        }

        var job = Apply(Job(spec, name, kind.Kind), [], T0);
        var pod = $"{name}-run-1";
        job = Apply(job, [Pod(pod, "Pending")], T0.AddSeconds(1));
        if (state == "pending")
        {
            return ToObject(job);
        }

        var running = Pod(pod, "Running", T0.AddSeconds(30));
        job = WithTrainerStatus(job, 5, T0.AddSeconds(40));
        job = Apply(job, [running], T0.AddSeconds(45));
        switch (state)
        {
            case "running":
                return ToObject(job);
            case "stalled":
                return ToObject(Apply(job, [running], T0.AddSeconds(40).AddMinutes(3)));
            case "restarting":
                return ToObject(Apply(job, [Ended(pod, TrainerExitCodes.TransientFailure, "bit-trainer: error: the data volume went away")], T0.AddMinutes(1)));
            case "succeeded":
                var result = TrainerResult.ToMessage(new ResultStatus { Top1 = 0.912, Top5 = 0.99, ModelPath = "/checkpoints/final/model.npz" }, 20);
                return ToObject(Apply(job, [Ended(pod, 0, result)], T0.AddMinutes(2)));
            case "failed":
                return ToObject(Apply(job, [Ended(pod, TrainerExitCodes.PermanentFailure, "bit-trainer: error: spec.dataset.path: /data/fashion has no train-images-idx3-ubyte")], T0.AddMinutes(2)));
            case "suspended":
                var suspend = Spec(kind);
                suspend["suspend"] = true;
                var suspended = new JobObject { Kind = job.Kind, Metadata = job.Metadata, Spec = JsonSerializer.SerializeToElement(suspend), Status = job.Status };
                suspended = Apply(suspended, [running], T0.AddMinutes(1));
                return ToObject(Apply(suspended, [], T0.AddMinutes(2)));
            default:
                throw new ArgumentException($"no such state: {state}", nameof(state));
        }
    }

    /// <summary>The job as the API server would serve it (what kstatus and Argo CD read).</summary>
    private static JsonObject ToObject(JobObject job) => new()
    {
        ["apiVersion"] = job.ApiVersion,
        ["kind"] = job.Kind,
        ["metadata"] = new JsonObject
        {
            ["name"] = job.Metadata.Name,
            ["namespace"] = job.Metadata.NamespaceProperty,
            ["uid"] = job.Metadata.Uid,
            ["generation"] = job.Metadata.Generation,
        },
        ["spec"] = JsonNode.Parse(job.Spec.GetRawText()),
        ["status"] = job.Status is { } s ? JsonNode.Parse(s.GetRawText()) : null,
    };
}
