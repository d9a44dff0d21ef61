using System.Text.Json.Nodes;
using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Commands;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Tests.Telemetry;

namespace BiT.Trainer.Tests.Commands;

[Collection(TorchCollection.Name)]
public sealed class JobRunnerTests
{
    private static string Manifest(string extraDataset = "", string hyper = "", string kind = "BiTFineTuneJob", string name = "tiny", string model = "") => $$"""
        apiVersion: bit.training/v1alpha1
        kind: {{kind}}
        metadata:
          name: {{name}}
        spec:
          model:
            architecture: Custom
            blocks: [1, 1, 1, 1]
            widthFactor: 0.5
        {{model}}
          dataset:
            format: Idx
            path: {{TestPaths.FashionSubset}}
            numClasses: 10
            fewShot: {examplesPerClass: 2, seed: 1}
        {{extraDataset}}
          hyperparameters:
            batchSize: 8
            totalSteps: 4
            precropSize: 36
            cropSize: 32
        {{hyper}}
          checkpoint:
            everySteps: 2
            keep: 2
          seed: 3
        """;

    private static async Task<(int Code, string Out, string Err)> Run(string manifest, string workDir, int? maxSteps = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new JobRunner(output, error, TimeProvider.System) { DataThreads = 2 }
            .RunManifestAsync(manifest, workDir, maxSteps, null, interactive: false, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Run_shows_the_resolved_plan_trains_and_leaves_every_output()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        var (code, output, error) = await Run(dir.Combine("job.yaml"), dir.Combine("work"));
        Assert.True(code == 0, output + error);
        Assert.Contains("few-shot 2/class", output, StringComparison.Ordinal);
        Assert.Contains("4 steps", output, StringComparison.Ordinal);
        Assert.Contains("done: top-1", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Combine("work", "final", "model.npz")));
        Assert.True(File.Exists(dir.Combine("work", "curves.png")));
        Assert.Equal(4, JsonNode.Parse(File.ReadAllText(dir.Combine("work", "final", "metrics.json")))!["steps"]!.GetValue<int>());
        Assert.Equal(2, Directory.GetFiles(dir.Combine("work", "checkpoints"), "step-*.ckpt").Length);
        var plan = TrainingPlan.FromJson(File.ReadAllText(dir.Combine("work", "plan.json")));
        Assert.Equal(20, Math.Min(plan.Dataset.TrainExamples, 2 * 10));
        Assert.Equal(28, plan.Dataset.ImageHeight);
    }

    [Fact]
    public async Task Max_steps_stops_with_exit_3_and_running_again_resumes_to_the_end()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        var first = await Run(dir.Combine("job.yaml"), dir.Combine("work"), maxSteps: 2);
        Assert.True(first.Code == TrainerExitCodes.CheckpointedStop, first.Out + first.Err);
        Assert.Contains("stopped at step 2 of 4", first.Out, StringComparison.Ordinal);
        var second = await Run(dir.Combine("job.yaml"), dir.Combine("work"));
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("resuming from", second.Out, StringComparison.Ordinal);
        Assert.Contains("step 2 of 4", second.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_plan_in_a_pod_writes_its_one_line_reason_to_the_termination_message()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("plan.json"), "{ not json");
        var error = new StringWriter();
        var code = await new JobRunner(new StringWriter(), error, TimeProvider.System).RunPlanAsync(
            dir.Combine("plan.json"), dir.Path, null, PodEnvironment.From(n => n == "BIT_TERMINATION_LOG" ? dir.Combine("termination-log") : null), CancellationToken.None);
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        Assert.Equal(error.ToString().TrimEnd(), File.ReadAllText(dir.Combine("termination-log")).TrimEnd());
        Assert.StartsWith("bit-trainer: error:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_manifest_exits_4_with_one_line_naming_the_field()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest(hyper: "    batchSizee: 3"));
        var (code, _, error) = await Run(dir.Combine("job.yaml"), dir.Combine("work"));
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        var last = error.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("bit-trainer: error:", last, StringComparison.Ordinal);
        Assert.Contains("batchSizee", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_data_and_missing_upstream_weights_exit_4()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest().Replace(TestPaths.FashionSubset, dir.Combine("nowhere"), StringComparison.Ordinal));
        var (code, _, error) = await Run(dir.Combine("job.yaml"), dir.Combine("work"));
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);

        File.WriteAllText(dir.Combine("down.yaml"), Manifest(model: "    weights: {fromPretrainJob: {name: upstream}}"));
        var down = await Run(dir.Combine("down.yaml"), dir.Combine("runs", "down"));
        Assert.Equal(TrainerExitCodes.PermanentFailure, down.Code);
        Assert.Contains("has that job finished?", down.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pretrain_then_fine_tune_from_its_output_and_train_from_a_plan_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("up.yaml"), Manifest(kind: "BiTPretrainJob", name: "upstream", extraDataset: "    classes: [0, 1, 2, 3, 4]").Replace("numClasses: 10", "numClasses: 5", StringComparison.Ordinal).Replace("    precropSize: 36\n", "", StringComparison.Ordinal));
        var up = await Run(dir.Combine("up.yaml"), dir.Combine("runs", "upstream"));
        Assert.True(up.Code == 0, up.Out + up.Err);
        Assert.Contains("inception crop", up.Out, StringComparison.Ordinal);

        File.WriteAllText(dir.Combine("down.yaml"), Manifest(name: "down", model: "    weights: {fromPretrainJob: {name: upstream}}", extraDataset: "    classes: [5, 6, 7, 8, 9]").Replace("numClasses: 10", "numClasses: 5", StringComparison.Ordinal));
        var down = await Run(dir.Combine("down.yaml"), dir.Combine("runs", "down"));
        Assert.True(down.Code == 0, down.Out + down.Err);
        Assert.Contains("weights: PretrainJob", down.Out, StringComparison.Ordinal);

        // The same plan, as a pod runs it: checkpoints straight in the checkpoint directory, status to the API.
        await using var api = new FakeApiServer();
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new JobRunner(output, error, TimeProvider.System) { DataThreads = 2 }.RunPlanAsync(
            dir.Combine("runs", "down", "plan.json"), null, null,
            PodEnvironment.From(n => n switch
            {
                "BIT_CHECKPOINT_DIR" => dir.Combine("pod"),
                "BIT_TERMINATION_LOG" => dir.Combine("termination-log"),
                "BIT_KUBE_API" => api.BaseUri.ToString(),
                "BIT_KUBE_TOKEN_FILE" => dir.Combine("no-token"),
                "BIT_JOB_NAMESPACE" => "team-a",
                "BIT_JOB_NAME" => "down",
                "BIT_JOB_KIND" => "BiTFineTuneJob",
                _ => null,
            }),
            CancellationToken.None);
        Assert.True(code == 0, output.ToString() + error);
        // The result for the operator: the last stdout line and the termination message, as JSON.
        var result = JsonNode.Parse(File.ReadAllText(dir.Combine("termination-log")))!;
        Assert.Equal(dir.Combine("pod", "final", "model.npz"), result["modelPath"]!.GetValue<string>());
        Assert.InRange(result["top1"]!.GetValue<double>(), 0, 1);
        Assert.Equal(output.ToString().TrimEnd().Split('\n')[^1], File.ReadAllText(dir.Combine("termination-log")).TrimEnd());
        // ... and status.result, patched before the exit: the same values, only the trainer's fields.
        var patched = api.Requests.Select(r => JsonNode.Parse(r.Body)!["status"]!.AsObject()).Where(s => s.ContainsKey("result")).ToList();
        var statusResult = Assert.Single(patched)["result"]!;
        Assert.Equal(result["top1"]!.GetValue<double>(), statusResult["top1"]!.GetValue<double>());
        Assert.Equal(result["top5"]!.GetValue<double>(), statusResult["top5"]!.GetValue<double>());
        Assert.Equal(result["modelPath"]!.GetValue<string>(), statusResult["modelPath"]!.GetValue<string>());
        Assert.All(api.Requests, r => Assert.All(JsonNode.Parse(r.Body)!["status"]!.AsObject(), p => Assert.Contains(p.Key, BiTJobStatus.TrainerFields)));
        Assert.NotEmpty(Directory.GetFiles(dir.Combine("pod"), "step-*.ckpt"));
        Assert.True(File.Exists(dir.Combine("pod", "final", "model.npz")));
        Assert.Equal(
            File.ReadAllText(dir.Combine("runs", "down", "final", "metrics.json")).Split('\n').Where(l => l.Contains("top1", StringComparison.Ordinal)),
            File.ReadAllText(dir.Combine("pod", "final", "metrics.json")).Split('\n').Where(l => l.Contains("top1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_deferred_plan_is_completed_from_the_measured_data_as_run_resolves_it_and_resumes_under_the_same_hash()
    {
        using var dir = new TempDir();
        // The manifest gives neither trainExamples nor imageSize: 'run' measures them from the data.
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        var run = await Run(dir.Combine("job.yaml"), dir.Combine("work"));
        Assert.True(run.Code == 0, run.Out + run.Err);
        var direct = TrainingPlan.FromJson(File.ReadAllText(dir.Combine("work", "plan.json")));

        // What the operator writes: the same job resolved without the data.
        var deferred = PlanResolver.Resolve(ManifestParser.ParseFile(dir.Combine("job.yaml")), measured: null, new PlanResolverOptions
        {
            ManifestDirectory = dir.Path,
            DeferUnmeasuredFacts = true,
        });
        Assert.True(deferred.IsDeferred);
        Assert.NotEqual(PlanHash.Compute(direct), PlanHash.Compute(deferred));
        File.WriteAllText(dir.Combine("plan.json"), deferred.ToJson());

        var pod = PodEnvironment.From(n => n == "BIT_CHECKPOINT_DIR" ? dir.Combine("pod") : null);
        async Task<(int Code, string Out, string Err)> Train()
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var code = await new JobRunner(output, error, TimeProvider.System) { DataThreads = 2 }
                .RunPlanAsync(dir.Combine("plan.json"), null, null, pod, CancellationToken.None);
            return (code, output.ToString(), error.ToString());
        }

        var first = await Train();
        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Contains("4 steps", first.Out, StringComparison.Ordinal);
        var checkpoints = Directory.GetFiles(dir.Combine("pod"), "step-*.ckpt");
        Assert.NotEmpty(checkpoints);
        // The hash covers every hyperparameter and the measured facts: the pod trained exactly run's plan.
        Assert.All(checkpoints, c => Assert.Equal(PlanHash.Compute(direct), CheckpointFile.ReadSummary(c).PlanHash));
        Assert.Equal(
            File.ReadAllText(dir.Combine("work", "final", "metrics.json")).Split('\n').Where(l => l.Contains("top1", StringComparison.Ordinal)),
            File.ReadAllText(dir.Combine("pod", "final", "metrics.json")).Split('\n').Where(l => l.Contains("top1", StringComparison.Ordinal)));

        // A restarted pod measures again, gets the same completed plan and resumes its own checkpoints.
        var second = await Train();
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("resuming from", second.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("another plan", second.Out + second.Err, StringComparison.Ordinal);
    }
}
