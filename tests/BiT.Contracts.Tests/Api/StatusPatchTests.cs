using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

public sealed class StatusPatchTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void A_status_read_from_the_server_reads_every_field_of_both_writers()
    {
        var s = BiTJobStatus.FromJson(Json("""
            {"phase":"Running","observedGeneration":2,"restarts":1,"podName":"pets-run-2","startTime":"2026-11-26T12:00:00Z",
             "conditions":[{"type":"Running","status":"True","reason":"PodRunning","lastTransitionTime":"2026-11-26T12:00:05Z"}],
             "restartHistory":[{"time":"2026-11-26T12:00:03Z","reason":"Evicted","exitCode":143,"resumedFromStep":30}],
             "progress":{"step":37,"totalSteps":100,"lastProgressTime":"2026-11-26T12:01:00Z"},"checkpoint":{"step":30},
             "result":{"top1":0.9,"modelPath":"/checkpoints/final/model.npz"},"managedBy":"ignored"}
            """));
        Assert.Equal(JobPhase.Running, s.Phase);
        Assert.Equal(T0, s.StartTime);
        Assert.True(s.IsConditionTrue(ConditionTypes.Running));
        Assert.Null(s.FindCondition(ConditionTypes.Stalled));
        Assert.Equal(30, Assert.Single(s.RestartHistory!).ResumedFromStep);
        Assert.Equal((37, 30), (s.Progress!.Step, s.Checkpoint!.Step));
        Assert.Equal(0.9, s.Result!.Top1);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_dropped_and_the_rest_is_kept()
    {
        var s = BiTJobStatus.FromJson(Json("""{"phase":"Running","restarts":"many","progress":{"step":"x"},"podName":"p"}"""));
        Assert.Equal(JobPhase.Running, s.Phase);
        Assert.Equal("p", s.PodName);
        Assert.Null(s.Restarts);
        Assert.Null(s.Progress);
    }

    [Fact]
    public void No_status_reads_as_an_empty_one()
    {
        Assert.Equal(new BiTJobStatus(), BiTJobStatus.FromJson(null));
        Assert.Equal(new BiTJobStatus(), BiTJobStatus.FromJson(Json("null")));
    }

    [Fact]
    public void The_same_status_rebuilt_with_new_lists_and_times_in_another_form_is_no_change()
    {
        var old = BiTJobStatus.FromJson(Json("""
            {"phase":"Running","startTime":"2026-11-26T13:00:00+01:00",
             "conditions":[{"type":"Running","status":"True","reason":"PodRunning","lastTransitionTime":"2026-11-26T12:00:05.000Z"}]}
            """));
        var rebuilt = new BiTJobStatus
        {
            Phase = JobPhase.Running,
            StartTime = T0.AddMilliseconds(400),
            Conditions = [new Condition { Type = ConditionTypes.Running, Status = ConditionStatus.True, Reason = "PodRunning", LastTransitionTime = T0.AddSeconds(5) }],
        };
        Assert.Null(BiTJobStatus.MergePatch(old, rebuilt, BiTJobStatus.OperatorFields));
    }

    [Fact]
    public void The_operators_patch_holds_only_its_changed_fields_and_never_the_trainers()
    {
        var old = BiTJobStatus.FromJson(Json("""
            {"phase":"Running","podName":"pets-run-1","progress":{"step":10,"totalSteps":100},"checkpoint":{"step":10}}
            """));
        var updated = old with { Phase = JobPhase.Restarting, PodName = null, Progress = null, Checkpoint = new CheckpointStatus { Step = 99 } };
        var patch = BiTJobStatus.MergePatch(old, updated, BiTJobStatus.OperatorFields)!;
        Assert.Equal("""{"phase":"Restarting","podName":null}""", patch.ToJsonString());
    }

    [Fact]
    public void The_trainers_patch_holds_its_result_in_wire_form()
    {
        var updated = new BiTJobStatus
        {
            Progress = ProgressStatus.Create(20, 20) with { LastProgressTime = T0.AddTicks(1234) },
            Result = new ResultStatus { Top1 = 0.5, Top5 = 1, ModelPath = "/checkpoints/final/model.npz" },
            Phase = JobPhase.Succeeded,
        };
        var patch = BiTJobStatus.MergePatch(new BiTJobStatus(), updated, BiTJobStatus.TrainerFields)!;
        Assert.False(patch.ContainsKey("phase"));
        Assert.Equal("2026-11-26T12:00:00Z", patch["progress"]!["lastProgressTime"]!.GetValue<string>());
        Assert.Equal(JsonNode.Parse("""{"top1":0.5,"top5":1,"modelPath":"/checkpoints/final/model.npz"}"""), patch["result"], JsonNode.DeepEquals);
    }

    [Fact]
    public void The_operators_and_trainers_fields_share_only_the_result()
    {
        Assert.Equal(["result"], BiTJobStatus.OperatorFields.Intersect(BiTJobStatus.TrainerFields));
        // Every field the status is serialized with, as BiTJson names it.
        var all = BiTJson.Options.GetTypeInfo(typeof(BiTJobStatus)).Properties.Select(p => p.Name);
        Assert.Equal(all.Order(), BiTJobStatus.OperatorFields.Union(BiTJobStatus.TrainerFields).Order());
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(-3, "0s")]
    [InlineData(129.6, "2m10s")]
    [InlineData(3600, "1h")]
    public void Whole_seconds_round_for_messages(double seconds, string expected) =>
        Assert.Equal(expected, GoDuration.WholeSeconds(TimeSpan.FromSeconds(seconds)).ToString());
}
