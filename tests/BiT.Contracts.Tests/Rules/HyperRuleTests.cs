using BiT.Contracts.Rules;

namespace BiT.Contracts.Tests.Rules;

public sealed class HyperRuleTests
{
    [Theory]
    // n just below and at the 20,000 boundary
    [InlineData(1L, 100, new[] { 200, 300, 400 }, 500, 0.0)]
    [InlineData(50L, 100, new[] { 200, 300, 400 }, 500, 0.0)]
    [InlineData(19_999L, 100, new[] { 200, 300, 400 }, 500, 0.0)]
    [InlineData(20_000L, 500, new[] { 3000, 6000, 9000 }, 10_000, 0.1)]
    [InlineData(20_001L, 500, new[] { 3000, 6000, 9000 }, 10_000, 0.1)]
    // n just below and at the 500,000 boundary
    [InlineData(499_999L, 500, new[] { 3000, 6000, 9000 }, 10_000, 0.1)]
    [InlineData(500_000L, 500, new[] { 6000, 12_000, 18_000 }, 20_000, 0.1)]
    [InlineData(500_001L, 500, new[] { 6000, 12_000, 18_000 }, 20_000, 0.1)]
    [InlineData(14_197_122L, 500, new[] { 6000, 12_000, 18_000 }, 20_000, 0.1)]
    public void Schedule_and_mixup_follow_the_dataset_size(long n, int warmup, int[] decays, int total, double mixup)
    {
        var s = HyperRule.Resolve(n, 32, 32);
        Assert.Equal(warmup, s.WarmupSteps);
        Assert.Equal(decays, s.DecaySteps);
        Assert.Equal(total, s.TotalSteps);
        Assert.Equal(mixup, s.MixupAlpha);
    }

    [Theory]
    [InlineData(95, 96, ResolutionRule.Reference, 160, 128)]
    [InlineData(96, 95, ResolutionRule.Reference, 160, 128)]
    [InlineData(96, 96, ResolutionRule.Reference, 512, 480)]
    [InlineData(1, 9215, ResolutionRule.Reference, 160, 128)]
    [InlineData(1, 9216, ResolutionRule.Reference, 512, 480)]
    [InlineData(9216, 1, ResolutionRule.Reference, 512, 480)]
    [InlineData(28, 28, ResolutionRule.Reference, 160, 128)]
    [InlineData(32, 32, ResolutionRule.Paper, 160, 128)]
    [InlineData(95, 96, ResolutionRule.Paper, 160, 128)]
    [InlineData(96, 96, ResolutionRule.Paper, 448, 384)]
    [InlineData(1, 9216, ResolutionRule.Paper, 448, 384)]
    [InlineData(500, 375, ResolutionRule.Reference, 512, 480)]
    [InlineData(500, 375, ResolutionRule.Paper, 448, 384)]
    // The product overflows int; the rule must still see a large image.
    [InlineData(int.MaxValue, int.MaxValue, ResolutionRule.Reference, 512, 480)]
    public void Resolution_follows_the_original_image_area(int h, int w, ResolutionRule rule, int precrop, int crop)
    {
        var s = HyperRule.Resolve(1000, h, w, resolution: rule);
        Assert.Equal(precrop, s.PrecropSize);
        Assert.Equal(crop, s.CropSize);
    }

    [Theory]
    [InlineData(512, false, 0.003)]
    [InlineData(128, false, 0.003)]
    [InlineData(4096, false, 0.003)]
    [InlineData(512, true, 0.003)]
    [InlineData(128, true, 0.00075)]
    [InlineData(1024, true, 0.006)]
    public void Base_learning_rate_is_0_003_unless_linear_scaling_is_asked_for(int batch, bool scale, double expected)
    {
        var s = HyperRule.Resolve(1000, 32, 32, batch, scaleLearningRateWithBatch: scale);
        Assert.Equal(expected, s.BaseLearningRate, 15);
        Assert.Equal(batch, s.BatchSize);
    }

    [Fact]
    public void Pets_resolves_to_the_reference_settings()
    {
        var expected = new HyperRuleSettings(512, 480, 100, [200, 300, 400], 500, 0.0, 0.003, 512);
        Assert.Equal(expected, HyperRule.Resolve(3680, 500, 375));
    }

    [Fact]
    public void Settings_compare_decay_steps_by_value()
    {
        var a = HyperRule.Resolve(3680, 500, 375);
        var b = a with { DecaySteps = [200, 300, 400] };
        var c = a with { DecaySteps = [200, 300, 401] };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
    }

    [Theory]
    [InlineData(0L, 32, 32, 512, "trainExamples")]
    [InlineData(-1L, 32, 32, 512, "trainExamples")]
    [InlineData(100L, 0, 32, 512, "imageHeight")]
    [InlineData(100L, -5, 32, 512, "imageHeight")]
    [InlineData(100L, 32, 0, 512, "imageWidth")]
    [InlineData(100L, 32, 32, 0, "batchSize")]
    [InlineData(100L, 32, 32, -512, "batchSize")]
    public void Invalid_arguments_are_rejected_with_the_name_and_value(long n, int h, int w, int batch, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => HyperRule.Resolve(n, h, w, batch));
        Assert.Equal(name, ex.ParamName);
        Assert.Contains($"{name} must be > 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undefined_resolution_rule_is_rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => HyperRule.Resolve(100, 200, 200, resolution: (ResolutionRule)7));
        Assert.Equal("resolution", ex.ParamName);
    }
}
