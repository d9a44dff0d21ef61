using BiT.Contracts.Rules;

namespace BiT.Contracts.Tests.Rules;

public sealed class UpstreamRecipeTests
{
    [Fact]
    public void Imagenet_defaults_follow_the_paper()
    {
        var s = UpstreamRecipe.Resolve(1_281_167);
        Assert.Equal(4096, s.BatchSize);
        Assert.Equal(90, s.Epochs);
        Assert.Equal(28_151, s.TotalSteps);
        Assert.Equal(0.03 * 4096 / 256, s.BaseLearningRate, 15);
        Assert.Equal(0.9, s.Momentum);
        Assert.Equal(1e-4, s.WeightDecay);
        Assert.Equal(224, s.CropSize);
        Assert.Equal(LossFunction.Softmax, s.Loss);
        Assert.Equal(0.0, s.MixupAlpha);
        Assert.Equal([30.0, 60.0, 80.0], s.DecayEpochs);
        // 28,151 x 1/3, 2/3, 8/9, rounded.
        Assert.Equal([9384, 18_767, 25_023], s.DecaySteps);
        // 5% of 28,151 = 1,408 (the paper's 5,000 caps longer runs).
        Assert.Equal(1408, s.WarmupSteps);
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(20, 1)]
    [InlineData(100, 5)]
    [InlineData(1000, 50)]
    [InlineData(99_980, 4999)]
    [InlineData(100_000, 5000)]
    [InlineData(300_000, 5000)]
    public void Default_warmup_is_five_percent_capped_at_5000(int total, int expected) =>
        Assert.Equal(expected, UpstreamRecipe.DefaultWarmupSteps(total));

    [Theory]
    [InlineData(256, 0.03)]
    [InlineData(512, 0.06)]
    [InlineData(64, 0.0075)]
    public void Learning_rate_scales_with_the_batch(int batch, double expected) =>
        Assert.Equal(expected, UpstreamRecipe.Resolve(10_000, batch).BaseLearningRate, 15);

    [Fact]
    public void Only_epochs_given_scales_the_decay_epochs()
    {
        var s = UpstreamRecipe.Resolve(6000, batchSize: 100, epochs: 9);
        Assert.Equal(540, s.TotalSteps);
        Assert.Equal([3.0, 6.0, 8.0], s.DecayEpochs);
        Assert.Equal([180, 360, 480], s.DecaySteps);
        Assert.Equal(27, s.WarmupSteps);
    }

    [Fact]
    public void Explicit_overrides_win()
    {
        var s = UpstreamRecipe.Resolve(
            6000, batchSize: 100, epochs: 10, decayEpochs: [5.0], warmupSteps: 7, baseLearningRate: 0.5,
            weightDecay: 0.0, cropSize: 64, loss: LossFunction.Sigmoid, totalSteps: 200);
        Assert.Equal(200, s.TotalSteps);
        Assert.Equal([100], s.DecaySteps);
        Assert.Equal(7, s.WarmupSteps);
        Assert.Equal(0.5, s.BaseLearningRate);
        Assert.Equal(0.0, s.WeightDecay);
        Assert.Equal(64, s.CropSize);
        Assert.Equal(LossFunction.Sigmoid, s.Loss);
    }

    [Fact]
    public void Warmup_in_epochs_converts_to_steps()
    {
        var s = UpstreamRecipe.Resolve(6000, batchSize: 100, epochs: 10, warmupEpochs: 1.5);
        Assert.Equal(90, s.WarmupSteps);
    }

    [Fact]
    public void The_schedule_decays_at_the_recipe_fractions()
    {
        var schedule = LearningRateSchedule.Pretrain(UpstreamRecipe.Resolve(6000, batchSize: 100, epochs: 9));
        Assert.Equal(0.03 * 100 / 256, schedule.LearningRate(100), 15);
        Assert.Equal(0.03 * 100 / 256 / 10, schedule.LearningRate(181), 15);
        Assert.True(schedule.IsFinished(540));
    }

    [Theory]
    [InlineData(0L, 4096, 90.0, 224, "trainExamples")]
    [InlineData(100L, 0, 90.0, 224, "batchSize")]
    [InlineData(100L, 64, 0.0, 224, "epochs")]
    [InlineData(100L, 64, 90.0, 0, "cropSize")]
    public void Bad_input_is_rejected(long n, int batch, double epochs, int crop, string name) =>
        Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(() => UpstreamRecipe.Resolve(n, batch, epochs, cropSize: crop)).ParamName);

    [Fact]
    public void Warmup_longer_than_the_run_is_rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => UpstreamRecipe.Resolve(1000, 100, 1, warmupSteps: 11));
        Assert.Contains("warmupSteps", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_weight_decay_is_rejected() =>
        Assert.Equal("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => UpstreamRecipe.Resolve(1000, weightDecay: -1)).ParamName);
}
