using BiT.Contracts.Rules;

namespace BiT.Contracts.Tests.Rules;

public sealed class LearningRateScheduleTests
{
    private static readonly LearningRateSchedule Small = new(0.003, 100, [200, 300, 400], 500);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.003 * 1 / 100)]
    [InlineData(50, 0.003 * 50 / 100)]
    [InlineData(99, 0.003 * 99 / 100)]
    [InlineData(100, 0.003)]
    [InlineData(199, 0.003)]
    // A boundary s applies only to steps strictly after it.
    [InlineData(200, 0.003)]
    [InlineData(201, 0.003 / 10)]
    [InlineData(300, 0.003 / 10)]
    [InlineData(301, 0.003 / 10 / 10)]
    [InlineData(400, 0.003 / 10 / 10)]
    [InlineData(401, 0.003 / 10 / 10 / 10)]
    [InlineData(499, 0.003 / 10 / 10 / 10)]
    public void Fine_tuning_warms_up_linearly_then_decays_strictly_after_each_boundary(int step, double expected)
    {
        // Exact equality: the trainer and the reference code must agree to the last bit.
        Assert.Equal(expected, Small.LearningRate(step));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(499, false)]
    [InlineData(500, true)]
    [InlineData(501, true)]
    public void Training_is_finished_when_the_step_reaches_the_total(int step, bool finished) =>
        Assert.Equal(finished, Small.IsFinished(step));

    [Fact]
    public void Fine_tune_schedule_comes_from_the_hyperrule()
    {
        var schedule = LearningRateSchedule.FineTune(HyperRule.Resolve(50_000, 32, 32));
        Assert.Equal(500, schedule.WarmupSteps);
        Assert.Equal([3000, 6000, 9000], schedule.DecaySteps);
        Assert.Equal(10_000, schedule.TotalSteps);
        Assert.Equal(0.003 * 250 / 500, schedule.LearningRate(250));
        Assert.Equal(0.003 / 10, schedule.LearningRate(3001));
    }

    [Fact]
    public void Zero_warmup_starts_at_the_base_rate()
    {
        var s = new LearningRateSchedule(0.1, 0, [10], 20);
        Assert.Equal(0.1, s.LearningRate(0));
        Assert.Equal(0.1 / 10, s.LearningRate(11));
    }

    [Theory]
    [InlineData(0.0, 10, new[] { 20 }, 30, "baseLearningRate")]
    [InlineData(double.NaN, 10, new[] { 20 }, 30, "baseLearningRate")]
    [InlineData(0.1, 10, new[] { 20 }, 0, "totalSteps")]
    [InlineData(0.1, -1, new[] { 20 }, 30, "warmupSteps")]
    [InlineData(0.1, 31, new[] { 20 }, 30, "warmupSteps")]
    [InlineData(0.1, 10, new[] { 0 }, 30, "decaySteps")]
    [InlineData(0.1, 10, new[] { 30 }, 30, "decaySteps")]
    [InlineData(0.1, 10, new[] { 20, 20 }, 30, "decaySteps")]
    [InlineData(0.1, 10, new[] { 25, 20 }, 30, "decaySteps")]
    public void Malformed_schedules_are_rejected(double rate, int warmup, int[] decays, int total, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedule(rate, warmup, decays, total));
        Assert.Equal(name, ex.ParamName);
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_step_is_rejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Small.LearningRate(-1));

    [Theory]
    [InlineData(1.0, 1000L, 100, 10)]
    [InlineData(1.0, 1001L, 100, 11)]
    [InlineData(90.0, 1_281_167L, 4096, 28_151)]
    [InlineData(0.5, 10L, 100, 1)]
    [InlineData(3.0, 5000L, 64, 235)]
    public void Epochs_convert_to_steps_rounding_up(double epochs, long n, int batch, int expected) =>
        Assert.Equal(expected, LearningRateSchedule.EpochsToSteps(epochs, n, batch));

    [Theory]
    [InlineData(0.0, 10L, 1, "epochs")]
    [InlineData(1.0, 0L, 1, "trainExamples")]
    [InlineData(1.0, 10L, 0, "batchSize")]
    [InlineData(1e12, 1_000_000L, 1, "epochs")]
    public void Epoch_conversion_rejects_bad_input(double epochs, long n, int batch, string name) =>
        Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.EpochsToSteps(epochs, n, batch)).ParamName);

    [Fact]
    public void Decay_epochs_are_fractions_of_the_total_so_short_runs_keep_the_shape()
    {
        Assert.Equal([300, 600, 800], LearningRateSchedule.DecayStepsFromEpochs([30, 60, 80], 90, 900));
        Assert.Equal([10, 20, 27], LearningRateSchedule.DecayStepsFromEpochs([30, 60, 80], 90, 30));
        // Too short to separate them: the coincident ones collapse rather than making an invalid schedule.
        Assert.Equal([1, 2], LearningRateSchedule.DecayStepsFromEpochs([30, 60, 80], 90, 3));
    }

    [Theory]
    [InlineData(new[] { 0.0 }, 90.0)]
    [InlineData(new[] { 90.0 }, 90.0)]
    [InlineData(new[] { 60.0, 30.0 }, 90.0)]
    [InlineData(new[] { 30.0 }, 0.0)]
    public void Decay_epochs_outside_the_run_are_rejected(double[] decays, double epochs) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.DecayStepsFromEpochs(decays, epochs, 100));
}
