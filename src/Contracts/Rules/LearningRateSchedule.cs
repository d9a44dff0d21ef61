using System.Globalization;

namespace BiT.Contracts.Rules;

/// <summary>
/// Linear warm-up from 0, then a staircase: the base rate divided by 10 for every decay boundary strictly below
/// the step, as the reference code's get_lr does. Steps count optimizer steps from 0; training stops when the
/// step reaches <see cref="TotalSteps"/>. The same shape serves fine-tuning (absolute boundaries from the
/// HyperRule) and pre-training (boundaries from decay epochs, as fractions of the run).
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly int[] _decaySteps;

    /// <summary>Creates a schedule and checks that it is well formed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it.</exception>
    public LearningRateSchedule(double baseLearningRate, int warmupSteps, IReadOnlyList<int> decaySteps, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(decaySteps);
        if (!double.IsFinite(baseLearningRate) || baseLearningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(baseLearningRate), baseLearningRate, $"baseLearningRate must be a finite number > 0, got {Format(baseLearningRate)}");
        }

        if (totalSteps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"totalSteps must be > 0, got {totalSteps}");
        }

        if (warmupSteps < 0 || warmupSteps > totalSteps)
        {
            throw new ArgumentOutOfRangeException(
                nameof(warmupSteps), warmupSteps, $"warmupSteps must be between 0 and totalSteps ({totalSteps}), got {warmupSteps}");
        }

        for (var i = 0; i < decaySteps.Count; i++)
        {
            var s = decaySteps[i];
            if (s <= 0 || s >= totalSteps)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(decaySteps), s, $"decaySteps[{i}] must be > 0 and < totalSteps ({totalSteps}), got {s}");
            }

            if (i > 0 && s <= decaySteps[i - 1])
            {
                throw new ArgumentOutOfRangeException(
                    nameof(decaySteps), s, $"decaySteps must be strictly increasing, but decaySteps[{i}] = {s} follows {decaySteps[i - 1]}");
            }
        }

        BaseLearningRate = baseLearningRate;
        WarmupSteps = warmupSteps;
        _decaySteps = [.. decaySteps];
        TotalSteps = totalSteps;
    }

    /// <summary>The rate at the end of the warm-up.</summary>
    public double BaseLearningRate { get; }

    /// <summary>Steps of linear warm-up from 0.</summary>
    public int WarmupSteps { get; }

    /// <summary>Boundaries after which the rate is divided by 10 (strictly increasing).</summary>
    public IReadOnlyList<int> DecaySteps => _decaySteps;

    /// <summary>The step at which training stops.</summary>
    public int TotalSteps { get; }

    /// <summary>The schedule of a resolved HyperRule.</summary>
    public static LearningRateSchedule FineTune(HyperRuleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.ToSchedule();
    }

    /// <summary>The schedule of a resolved upstream recipe (decays already converted from epochs to steps).</summary>
    public static LearningRateSchedule Pretrain(UpstreamSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.ToSchedule();
    }

    /// <summary>
    /// The learning rate for the optimizer step <paramref name="step"/> (0-based). At or after
    /// <see cref="TotalSteps"/> it returns the fully decayed rate; <see cref="IsFinished"/> says when to stop.
    /// </summary>
    public double LearningRate(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            // Same operation order as the reference code (base * step / warmup) so the values match bit for bit.
            return BaseLearningRate * step / WarmupSteps;
        }

        var rate = BaseLearningRate;
        foreach (var boundary in _decaySteps)
        {
            if (boundary < step)
            {
                // Repeated division, as the reference code does, rather than / 10^k (they differ in the last bit).
                rate /= 10;
            }
        }

        return rate;
    }

    /// <summary>True once the step counter has reached the end of the run.</summary>
    public bool IsFinished(int step) => step >= TotalSteps;

    /// <summary>
    /// Optimizer steps for <paramref name="epochs"/> passes over <paramref name="trainExamples"/> examples at
    /// <paramref name="batchSize"/> images per step, rounded up so the last partial batch's data is seen.
    /// </summary>
    public static int EpochsToSteps(double epochs, long trainExamples, int batchSize)
    {
        if (!double.IsFinite(epochs) || epochs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"epochs must be a finite number > 0, got {Format(epochs)}");
        }

        if (trainExamples <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(trainExamples), trainExamples, $"trainExamples must be > 0, got {trainExamples}");
        }

        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize must be > 0, got {batchSize}");
        }

        var steps = Math.Ceiling(epochs * trainExamples / batchSize);
        if (steps > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                nameof(epochs), epochs, $"{Format(epochs)} epochs of {trainExamples} examples at batch {batchSize} is more than {int.MaxValue} steps");
        }

        return Math.Max(1, (int)steps);
    }

    /// <summary>
    /// Decay boundaries in steps for decays given in epochs: each is the same fraction of
    /// <paramref name="totalSteps"/> as the decay epoch is of <paramref name="epochs"/>, so a short run keeps the
    /// recipe's shape. Boundaries that round onto each other or the ends are dropped.
    /// </summary>
    public static IReadOnlyList<int> DecayStepsFromEpochs(IReadOnlyList<double> decayEpochs, double epochs, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(decayEpochs);
        if (!double.IsFinite(epochs) || epochs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"epochs must be a finite number > 0, got {Format(epochs)}");
        }

        if (totalSteps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"totalSteps must be > 0, got {totalSteps}");
        }

        var steps = new List<int>(decayEpochs.Count);
        for (var i = 0; i < decayEpochs.Count; i++)
        {
            var e = decayEpochs[i];
            if (!double.IsFinite(e) || e <= 0 || e >= epochs)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(decayEpochs), e, $"decayEpochs[{i}] must be > 0 and < epochs ({Format(epochs)}), got {Format(e)}");
            }

            if (i > 0 && e <= decayEpochs[i - 1])
            {
                throw new ArgumentOutOfRangeException(
                    nameof(decayEpochs), e, $"decayEpochs must be strictly increasing, but decayEpochs[{i}] = {Format(e)} follows {Format(decayEpochs[i - 1])}");
            }

            var s = (int)Math.Round(totalSteps * (e / epochs), MidpointRounding.AwayFromZero);
            // A run too short to separate the boundaries keeps only the distinct ones inside (0, total).
            if (s > 0 && s < totalSteps && (steps.Count == 0 || s > steps[^1]))
            {
                steps.Add(s);
            }
        }

        return steps;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
