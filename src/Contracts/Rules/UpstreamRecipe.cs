using System.Globalization;

namespace BiT.Contracts.Rules;

/// <summary>
/// The BiT upstream (pre-training) recipe: SGD momentum 0.9, learning rate 0.03 x batch / 256, weight decay 1e-4,
/// linear warm-up, 90 epochs with the rate divided by 10 at epochs 30, 60 and 80, inception crop 224, no MixUp.
/// Pure; shared by the operator and the trainer.
/// </summary>
public static class UpstreamRecipe
{
    /// <summary>The paper's global batch size.</summary>
    public const int DefaultBatchSize = 4096;

    /// <summary>BiT-S/BiT-M schedule length.</summary>
    public const double DefaultEpochs = 90;

    /// <summary>Learning rate per 256 images of batch.</summary>
    public const double LearningRatePer256 = 0.03;

    /// <summary>SGD momentum.</summary>
    public const double Momentum = 0.9;

    /// <summary>Default L2 weight decay.</summary>
    public const double DefaultWeightDecay = 1e-4;

    /// <summary>Default inception-crop size.</summary>
    public const int DefaultCropSize = 224;

    /// <summary>The paper's warm-up length in steps (for runs of tens of thousands of steps).</summary>
    public const int PaperWarmupSteps = 5000;

    /// <summary>
    /// Default warm-up as a fraction of the run: a short run cannot spend 5,000 steps warming up, so the default
    /// is min(5000, 5% of the total steps), at least one step.
    /// </summary>
    public const double DefaultWarmupFraction = 0.05;

    /// <summary>The recipe's decay epochs for a 90-epoch run; scaled with the epochs when only epochs is given.</summary>
    public static IReadOnlyList<double> DefaultDecayEpochs { get; } = [30.0, 60.0, 80.0];

    /// <summary>Resolves the upstream recipe, each optional argument overriding the recipe's choice.</summary>
    /// <param name="trainExamples">Training examples per epoch.</param>
    /// <param name="batchSize">Global batch size (4096).</param>
    /// <param name="epochs">Schedule length in epochs (90).</param>
    /// <param name="decayEpochs">Decay points in epochs; null = 30/60/80 scaled by epochs / 90.</param>
    /// <param name="warmupSteps">Warm-up in steps; wins over <paramref name="warmupEpochs"/>.</param>
    /// <param name="warmupEpochs">Warm-up in epochs.</param>
    /// <param name="baseLearningRate">Null = 0.03 x batch / 256.</param>
    /// <param name="weightDecay">Null = 1e-4.</param>
    /// <param name="cropSize">Inception-crop size (224).</param>
    /// <param name="loss">Softmax (default) or sigmoid cross-entropy.</param>
    /// <param name="totalSteps">Null = epochs converted to steps; a value here wins and decays stay fractions of it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it.</exception>
    public static UpstreamSettings Resolve(
        long trainExamples,
        int batchSize = DefaultBatchSize,
        double epochs = DefaultEpochs,
        IReadOnlyList<double>? decayEpochs = null,
        int? warmupSteps = null,
        double? warmupEpochs = null,
        double? baseLearningRate = null,
        double? weightDecay = null,
        int cropSize = DefaultCropSize,
        LossFunction loss = LossFunction.Softmax,
        int? totalSteps = null)
    {
        if (trainExamples <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(trainExamples), trainExamples, $"trainExamples must be > 0, got {trainExamples}");
        }

        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize must be > 0, got {batchSize}");
        }

        if (cropSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, $"cropSize must be > 0, got {cropSize}");
        }

        if (!Enum.IsDefined(loss))
        {
            throw new ArgumentOutOfRangeException(nameof(loss), loss, $"loss must be Softmax or Sigmoid, got {loss}");
        }

        var total = totalSteps ?? LearningRateSchedule.EpochsToSteps(epochs, trainExamples, batchSize);
        if (total <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSteps), total, $"totalSteps must be > 0, got {total}");
        }

        IReadOnlyList<double> decays = decayEpochs is null
            ? [.. DefaultDecayEpochs.Select(e => e * epochs / DefaultEpochs)]
            : [.. decayEpochs];
        var decaySteps = LearningRateSchedule.DecayStepsFromEpochs(decays, epochs, total);

        int warmup;
        if (warmupSteps is { } ws)
        {
            warmup = ws;
        }
        else if (warmupEpochs is { } we)
        {
            if (!double.IsFinite(we) || we < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(warmupEpochs), we, $"warmupEpochs must be a finite number >= 0, got {Format(we)}");
            }

            warmup = we == 0 ? 0 : LearningRateSchedule.EpochsToSteps(we, trainExamples, batchSize);
        }
        else
        {
            warmup = DefaultWarmupSteps(total);
        }

        if (warmup < 0 || warmup > total)
        {
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmup, $"warmupSteps must be between 0 and totalSteps ({total}), got {warmup}");
        }

        var rate = baseLearningRate ?? LearningRatePer256 * batchSize / 256;
        if (!double.IsFinite(rate) || rate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), rate, $"baseLearningRate must be a finite number > 0, got {Format(rate)}");
        }

        var decay = weightDecay ?? DefaultWeightDecay;
        if (!double.IsFinite(decay) || decay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), decay, $"weightDecay must be a finite number >= 0, got {Format(decay)}");
        }

        return new UpstreamSettings(
            batchSize, epochs, total, warmup, decays, decaySteps, rate, Momentum, decay, cropSize, loss);
    }

    /// <summary>min(5000, 5% of the run), at least 1 step.</summary>
    public static int DefaultWarmupSteps(int totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        var fraction = (int)Math.Round(totalSteps * DefaultWarmupFraction, MidpointRounding.AwayFromZero);
        return Math.Clamp(fraction, 1, PaperWarmupSteps);
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
