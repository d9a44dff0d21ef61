using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Rules;
using BiT.Contracts.Tests.Api;

namespace BiT.Contracts.Tests.Plans;

public sealed class PlanResolverTests
{
    private static BiTJob Job(string yaml) => ManifestParser.Parse(yaml);

    private static BiTJob FineTune(string hyper = "", string dataset = "") => Job($$"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata: {name: ft, namespace: ml, uid: u-1, generation: 2}
        spec:
          model:
            architecture: BiT-M-R50x1
            weights: {path: weights/BiT-M-R50x1.npz}
          dataset:
            format: ImageFolder
            path: data/pets
            numClasses: 37
        {{dataset}}
        {{hyper}}
        """);

    [Fact]
    public void Pets_gets_the_hyperrule_from_the_measured_data()
    {
        var plan = PlanResolver.Resolve(FineTune(), new DatasetFacts(3680, 500, 375));
        var h = plan.Hyperparameters;
        Assert.Equal("HyperRule", h.Rule);
        Assert.Empty(h.Overridden);
        Assert.Equal((512, 512, 0.003, 500, 100), (h.BatchSize, h.PrecropSize!.Value, h.BaseLearningRate, h.TotalSteps, h.WarmupSteps));
        Assert.Equal(480, h.CropSize);
        Assert.Equal([200, 300, 400], h.DecaySteps);
        Assert.Equal(0.0, h.MixupAlpha);
        Assert.Equal(0.0, h.WeightDecay);
        Assert.Equal(0.9, h.Momentum);
        Assert.Equal(1, h.BatchSplit);
        Assert.Equal(3680, h.TrainExamples);
        Assert.Equal("R50x1", plan.Model.Architecture);
        Assert.Equal([3, 4, 6, 3], plan.Model.Blocks);
        Assert.Equal(1.0, plan.Model.WidthFactor);
        Assert.Equal(37, plan.Model.NumClasses);
        Assert.Equal(WeightsSource.Path, plan.Model.Weights!.Source);
        Assert.Equal(("ml", "ft", "u-1", 2L), (plan.Job.Namespace, plan.Job.Name, plan.Job.Uid, plan.Job.Generation));
        Assert.Equal(100, plan.Checkpoint.EverySteps);
        Assert.Equal(3, plan.Checkpoint.Keep);
        Assert.Equal(0, plan.Seed);
    }

    [Fact]
    public void Spec_facts_win_over_measured_ones()
    {
        var plan = PlanResolver.Resolve(
            FineTune(dataset: "    trainExamples: 50000\n    imageSize: {height: 32, width: 32}"), new DatasetFacts(3680, 500, 375));
        Assert.Equal(10_000, plan.Hyperparameters.TotalSteps);
        Assert.Equal(128, plan.Hyperparameters.CropSize);
        Assert.Equal(0.1, plan.Hyperparameters.MixupAlpha);
    }

    [Fact]
    public void Few_shot_schedule_follows_the_subset()
    {
        var plan = PlanResolver.Resolve(
            FineTune(dataset: "    fewShot: {examplesPerClass: 5, seed: 3}"), new DatasetFacts(50_000, 32, 32));
        Assert.Equal(500, plan.Hyperparameters.TotalSteps);
        Assert.Equal(185, plan.Hyperparameters.TrainExamples);
        Assert.Equal(50_000, plan.Dataset.TrainExamples);
        Assert.Equal(5, plan.Dataset.FewShotExamplesPerClass);
        Assert.Equal(3, plan.Dataset.FewShotSeed);
    }

    [Fact]
    public void Total_steps_alone_keeps_the_rules_shape()
    {
        var plan = PlanResolver.Resolve(FineTune("  hyperparameters: {totalSteps: 100}"), new DatasetFacts(3680, 28, 28));
        var h = plan.Hyperparameters;
        Assert.Equal(100, h.TotalSteps);
        Assert.Equal(20, h.WarmupSteps);
        Assert.Equal([40, 60, 80], h.DecaySteps);
        Assert.Equal(["totalSteps"], h.Overridden);
    }

    [Fact]
    public void Very_short_runs_drop_boundaries_that_collapse()
    {
        var h = PlanResolver.Resolve(FineTune("  hyperparameters: {totalSteps: 3}"), new DatasetFacts(3680, 28, 28)).Hyperparameters;
        Assert.Equal(1, h.WarmupSteps);
        Assert.Equal([1, 2], h.DecaySteps);
        _ = h.ToSchedule();
    }

    [Theory]
    [InlineData("cropSize: 32", 40, 32)]
    [InlineData("precropSize: 40", 40, 32)]
    [InlineData("precropSize: 36\n    cropSize: 32", 36, 32)]
    public void Crop_overrides_keep_the_rules_ratio(string hyper, int precrop, int crop)
    {
        var h = PlanResolver.Resolve(FineTune($"  hyperparameters:\n    {hyper}"), new DatasetFacts(3680, 28, 28)).Hyperparameters;
        Assert.Equal((precrop, crop), (h.PrecropSize!.Value, h.CropSize));
    }

    [Fact]
    public void Every_override_wins()
    {
        var h = PlanResolver.Resolve(FineTune("""
              hyperparameters:
                batchSize: 128
                batchSplit: 4
                baseLearningRate: 0.001
                totalSteps: 1000
                warmupSteps: 50
                decaySteps: [500, 900]
                mixupAlpha: 0.2
                resolution: Paper
            """), new DatasetFacts(3680, 500, 375)).Hyperparameters;
        Assert.Equal((128, 4, 0.001, 1000, 50, 0.2), (h.BatchSize, h.BatchSplit, h.BaseLearningRate, h.TotalSteps, h.WarmupSteps, h.MixupAlpha));
        Assert.Equal([500, 900], h.DecaySteps);
        Assert.Equal((448, 384), (h.PrecropSize!.Value, h.CropSize));
        Assert.Equal(8, h.Overridden.Count);
    }

    [Fact]
    public void Linear_scaling_flag_scales_the_base_rate()
    {
        var h = PlanResolver.Resolve(FineTune("  hyperparameters: {batchSize: 128, scaleLearningRateWithBatch: true}"), new DatasetFacts(3680, 500, 375)).Hyperparameters;
        Assert.Equal(0.00075, h.BaseLearningRate, 15);
    }

    [Fact]
    public void Overrides_that_clash_with_the_rule_are_reported_on_the_field()
    {
        var ex = Assert.Throws<PlanException>(() =>
            PlanResolver.Resolve(FineTune("  hyperparameters: {decaySteps: [200, 600]}"), new DatasetFacts(3680, 500, 375)));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("spec.hyperparameters.decaySteps", error.Path);
        Assert.Contains("< totalSteps (500)", error.Message, StringComparison.Ordinal);
        Assert.Contains("ml/ft", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_facts_are_named()
    {
        var ex = Assert.Throws<PlanException>(() => PlanResolver.Resolve(FineTune(), null));
        Assert.Equal(["spec.dataset.trainExamples", "spec.dataset.imageSize"], ex.Errors.Select(e => e.Path));
    }

    [Fact]
    public void Invalid_spec_is_refused_with_the_validators_errors()
    {
        var job = (BiTFineTuneJob)FineTune();
        var bad = job with { Spec = job.Spec with { Dataset = job.Spec.Dataset! with { NumClasses = 1 } } };
        var ex = Assert.Throws<PlanException>(() => PlanResolver.Resolve(bad, new DatasetFacts(10, 10, 10)));
        Assert.Equal("spec.dataset.numClasses", Assert.Single(ex.Errors).Path);
    }

    [Fact]
    public void Relative_paths_resolve_against_the_manifests_folder()
    {
        var plan = PlanResolver.Resolve(FineTune(), new DatasetFacts(3680, 500, 375), new PlanResolverOptions { ManifestDirectory = "/work/examples" });
        Assert.Equal("/work/examples/data/pets", plan.Dataset.Path);
        Assert.Equal("/work/examples/weights/BiT-M-R50x1.npz", plan.Model.Weights!.Path);
        var unresolved = PlanResolver.Resolve(FineTune(), new DatasetFacts(3680, 500, 375));
        Assert.Equal("data/pets", unresolved.Dataset.Path);
    }

    [Fact]
    public void Pretrain_uses_the_upstream_recipe()
    {
        var plan = PlanResolver.Resolve(Job(Manifests.Pretrain), new DatasetFacts(1_281_167, 0, 0));
        var h = plan.Hyperparameters;
        Assert.True(plan.IsPretrain);
        Assert.Equal("UpstreamRecipe", h.Rule);
        Assert.Equal(4096, h.BatchSize);
        Assert.Equal(0.48, h.BaseLearningRate, 12);
        Assert.Equal(28_151, h.TotalSteps);
        Assert.Equal(1564, h.WarmupSteps);
        Assert.Equal([9384, 18_767, 25_023], h.DecaySteps);
        Assert.Equal([30.0, 60.0, 80.0], h.DecayEpochs);
        Assert.Equal(1e-4, h.WeightDecay);
        Assert.Equal(LossFunction.Sigmoid, h.Loss);
        Assert.Null(h.PrecropSize);
        Assert.Equal(224, h.CropSize);
        Assert.Equal(0.0, h.MixupAlpha);
        Assert.Null(plan.Model.Weights);
    }

    [Fact]
    public void Pretrain_does_not_need_the_image_size()
    {
        var yaml = Manifests.Pretrain.Replace("numClasses: 1000", "numClasses: 1000\n    trainExamples: 6000", StringComparison.Ordinal);
        var plan = PlanResolver.Resolve(Job(yaml), null);
        Assert.Equal(0, plan.Dataset.ImageHeight);
    }

    [Fact]
    public void From_pretrain_job_resolves_through_the_callback()
    {
        var yaml = Manifests.MinimalFineTune.Replace("path: /weights/BiT-M-R50x1.npz", "fromPretrainJob: {name: upstream}", StringComparison.Ordinal);
        var plan = PlanResolver.Resolve(Job(yaml), new DatasetFacts(100, 64, 64), new PlanResolverOptions { PretrainModelPath = n => $"/upstream/{n}/final/model.npz" });
        Assert.Equal(WeightsSource.PretrainJob, plan.Model.Weights!.Source);
        Assert.Equal("upstream", plan.Model.Weights.PretrainJob);
        Assert.Equal("/upstream/upstream/final/model.npz", plan.Model.Weights.Path);
    }

    [Fact]
    public void The_examples_resolve()
    {
        var small = ManifestParser.ParseFile(Path.Combine(RepoPaths.Root, "examples", "finetune-fashion-mnist.yaml"));
        var plan = PlanResolver.Resolve(small, new DatasetFacts(2000, 28, 28));
        Assert.Equal("Custom", plan.Model.Architecture);
        Assert.Equal([1, 1, 1, 1], plan.Model.Blocks);
        Assert.Equal(0.5, plan.Model.WidthFactor);
        var upstream = ManifestParser.ParseFile(Path.Combine(RepoPaths.Root, "examples", "pretrain-fashion-mnist-5.yaml"));
        var up = PlanResolver.Resolve(upstream, new DatasetFacts(1000, 28, 28)).Hyperparameters;
        Assert.Equal(0.015, up.BaseLearningRate, 12);
        Assert.Equal([0, 1, 2, 3, 4], PlanResolver.Resolve(upstream, new DatasetFacts(1000, 28, 28)).Dataset.Classes);
    }

    [Fact]
    public void Without_facts_the_operator_can_get_a_deferred_plan_that_the_trainer_completes()
    {
        var options = new PlanResolverOptions { DeferUnmeasuredFacts = true, CheckpointDirectory = "/checkpoints" };
        var deferred = PlanResolver.Resolve(FineTune("  hyperparameters: {totalSteps: 100}"), null, options);
        Assert.True(deferred.IsDeferred);
        Assert.Equal(DeferredResolution.RuleName, deferred.Hyperparameters.Rule);
        Assert.Equal(["spec.dataset.trainExamples", "spec.dataset.imageSize"], deferred.Deferred!.Missing);

        // Through plan.json, as in the pod.
        var inPod = TrainingPlan.FromJson(deferred.ToJson());
        var facts = new DatasetFacts(3680, 28, 28);
        var completed = PlanResolver.Complete(inPod, facts);
        var direct = PlanResolver.Resolve(FineTune("  hyperparameters: {totalSteps: 100}"), facts, options);
        Assert.False(completed.IsDeferred);
        Assert.Equal(direct.Hyperparameters, completed.Hyperparameters);
        Assert.Equal(direct.Dataset, completed.Dataset with { Classes = direct.Dataset.Classes });
        Assert.Equal("/checkpoints", completed.Checkpoint.Directory);
        Assert.Equal(PlanHash.Compute(direct), PlanHash.Compute(completed));
        Assert.NotEqual(PlanHash.Compute(deferred), PlanHash.Compute(completed));
    }

    [Fact]
    public void Complete_leaves_a_complete_plan_alone_and_names_facts_still_missing()
    {
        var plan = PlanResolver.Resolve(FineTune(), new DatasetFacts(3680, 500, 375));
        Assert.Same(plan, PlanResolver.Complete(plan, new DatasetFacts(1, 1, 1)));
        var deferred = PlanResolver.Resolve(FineTune(), null, new PlanResolverOptions { DeferUnmeasuredFacts = true });
        var ex = Assert.Throws<PlanException>(() => PlanResolver.Complete(deferred, new DatasetFacts(3680, 0, 0)));
        Assert.Equal("spec.dataset.imageSize", Assert.Single(ex.Errors).Path);
    }

    [Fact]
    public void Deferral_does_not_hide_an_invalid_spec()
    {
        var job = (BiTFineTuneJob)FineTune();
        var bad = job with { Spec = job.Spec with { Dataset = job.Spec.Dataset! with { NumClasses = 1 } } };
        Assert.Throws<PlanException>(() => PlanResolver.Resolve(bad, null, new PlanResolverOptions { DeferUnmeasuredFacts = true }));
    }
}
