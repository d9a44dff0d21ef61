namespace BiT.Contracts.Rules;

/// <summary>
/// The BiT-HyperRule as the reference code implements it (bit_hyperrule.py): resolution from the original image
/// area, schedule and MixUp from the number of training examples. Pure; shared by the operator and the trainer.
/// </summary>
public static class HyperRule
{
    /// <summary>Images with an area below this many pixels (96x96) count as small.</summary>
    public const long SmallImageArea = 96L * 96L;

    /// <summary>Fewer training examples than this is the small regime (no MixUp, 500 steps).</summary>
    public const long SmallDatasetLimit = 20_000;

    /// <summary>Fewer training examples than this (and at least <see cref="SmallDatasetLimit"/>) is the medium regime.</summary>
    public const long MediumDatasetLimit = 500_000;

    /// <summary>The batch size the base learning rate was tuned for.</summary>
    public const int ReferenceBatchSize = 512;

    /// <summary>Base learning rate at <see cref="ReferenceBatchSize"/>.</summary>
    public const double ReferenceBaseLearningRate = 0.003;

    /// <summary>MixUp alpha from <see cref="SmallDatasetLimit"/> examples up.</summary>
    public const double MixupAlphaForLargerDatasets = 0.1;

    /// <summary>Resolves the HyperRule for one task.</summary>
    /// <param name="trainExamples">Training examples (after few-shot subsetting: the schedule follows the subset).</param>
    /// <param name="imageHeight">Height of the original images in pixels.</param>
    /// <param name="imageWidth">Width of the original images in pixels.</param>
    /// <param name="batchSize">Global batch size.</param>
    /// <param name="resolution">Reference (512/480, default) or Paper (448/384) for images of at least 96x96.</param>
    /// <param name="scaleLearningRateWithBatch">
    /// The reference code keeps 0.003 for every batch size; true scales it linearly (0.003 * batch / 512) as the
    /// paper's text implies.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is zero, negative or an undefined enum value.</exception>
    public static HyperRuleSettings Resolve(
        long trainExamples,
        int imageHeight,
        int imageWidth,
        int batchSize = ReferenceBatchSize,
        ResolutionRule resolution = ResolutionRule.Reference,
        bool scaleLearningRateWithBatch = false)
    {
        RequirePositive(trainExamples, nameof(trainExamples));
        RequirePositive(imageHeight, nameof(imageHeight));
        RequirePositive(imageWidth, nameof(imageWidth));
        RequirePositive(batchSize, nameof(batchSize));

        var (precrop, crop) = Resolution(imageHeight, imageWidth, resolution);
        var (warmup, decays, total) = Schedule(trainExamples);
        var learningRate = scaleLearningRateWithBatch
            ? ReferenceBaseLearningRate * batchSize / ReferenceBatchSize
            : ReferenceBaseLearningRate;
        return new HyperRuleSettings(
            precrop, crop, warmup, decays, total, MixupAlpha(trainExamples), learningRate, batchSize);
    }

    /// <summary>(precrop, crop) for images of the given original size.</summary>
    public static (int PrecropSize, int CropSize) Resolution(int imageHeight, int imageWidth, ResolutionRule resolution = ResolutionRule.Reference)
    {
        RequirePositive(imageHeight, nameof(imageHeight));
        RequirePositive(imageWidth, nameof(imageWidth));
        if ((long)imageHeight * imageWidth < SmallImageArea)
        {
            return (160, 128);
        }

        return resolution switch
        {
            ResolutionRule.Reference => (512, 480),
            // The paper's 448/384; it uses 512/480 only for R152x4, which a user selects with Reference.
            ResolutionRule.Paper => (448, 384),
            _ => throw new ArgumentOutOfRangeException(
                nameof(resolution), resolution, $"resolution must be Reference or Paper, got {resolution}"),
        };
    }

    /// <summary>(warmup, decay boundaries, total steps) for a dataset of this many training examples.</summary>
    public static (int WarmupSteps, IReadOnlyList<int> DecaySteps, int TotalSteps) Schedule(long trainExamples)
    {
        RequirePositive(trainExamples, nameof(trainExamples));
        if (trainExamples < SmallDatasetLimit)
        {
            return (100, [200, 300, 400], 500);
        }

        if (trainExamples < MediumDatasetLimit)
        {
            return (500, [3000, 6000, 9000], 10_000);
        }

        return (500, [6000, 12_000, 18_000], 20_000);
    }

    /// <summary>MixUp alpha for a dataset of this many training examples.</summary>
    public static double MixupAlpha(long trainExamples)
    {
        RequirePositive(trainExamples, nameof(trainExamples));
        return trainExamples >= SmallDatasetLimit ? MixupAlphaForLargerDatasets : 0.0;
    }

    private static void RequirePositive(long value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be > 0, got {value}");
        }
    }
}
