using BiT.Contracts.Crds;
using BiT.Contracts.Rules;

namespace BiT.Contracts.Api;

/// <summary>
/// Overrides of what the HyperRule (fine-tuning) or the upstream recipe (pre-training) chooses. Every field is
/// optional; a field given here wins over the rule.
/// </summary>
[Field("Overrides of the HyperRule (fine-tuning) or the upstream recipe (pre-training); every field is optional.")]
[CelRule("!has(self.batchSize) || !has(self.batchSplit) || self.batchSize % self.batchSplit == 0", "batchSize must be a multiple of batchSplit")]
[CelRule("!has(self.warmupSteps) || !has(self.totalSteps) || self.warmupSteps <= self.totalSteps", "warmupSteps must be <= totalSteps")]
[CelRule("!has(self.precropSize) || !has(self.cropSize) || self.cropSize <= self.precropSize", "cropSize must be <= precropSize")]
[CelRule("!has(self.warmupSteps) || !has(self.warmupEpochs)", "give warmupSteps or warmupEpochs, not both")]
[CelRule("!has(self.decaySteps) || !has(self.decayEpochs)", "give decaySteps or decayEpochs, not both")]
public sealed record HyperparametersSpec
{
    /// <summary>Global batch size.</summary>
    [Field("Global batch size (HyperRule 512, upstream 4096).", Minimum = 1, Maximum = 65_536)]
    public int? BatchSize { get; init; }

    /// <summary>Gradient accumulation: micro-batch = batchSize / batchSplit.</summary>
    [Field("Gradient accumulation: micro-batch = batchSize / batchSplit (default 1).", Minimum = 1, Maximum = 65_536)]
    public int? BatchSplit { get; init; }

    /// <summary>Peak learning rate.</summary>
    [Field("Peak learning rate (HyperRule 0.003; upstream 0.03 x batch / 256).", Minimum = 0, ExclusiveMinimum = true, Maximum = 100)]
    public double? BaseLearningRate { get; init; }

    /// <summary>Scale the HyperRule's base rate linearly with the batch (0.003 x batch / 512).</summary>
    [Field("Fine-tuning only: scale the base learning rate as 0.003 x batchSize / 512 (the paper's text) instead of the reference code's fixed 0.003.")]
    public bool? ScaleLearningRateWithBatch { get; init; }

    /// <summary>Length of the run in optimizer steps.</summary>
    [Field("Optimizer steps of the run. Given alone, the rule's warm-up and decays keep their fractions of the run.", Minimum = 1, Maximum = 2_147_483_647)]
    public int? TotalSteps { get; init; }

    /// <summary>Linear warm-up in steps.</summary>
    [Field("Linear warm-up from 0, in optimizer steps.", Minimum = 0, Maximum = 2_147_483_647)]
    public int? WarmupSteps { get; init; }

    /// <summary>Absolute decay boundaries (rate / 10 strictly after each).</summary>
    [Field("Steps after which the rate is divided by 10; strictly increasing, below totalSteps.", MaxItems = 16, Minimum = 1, Maximum = 2_147_483_647)]
    public IReadOnlyList<int>? DecaySteps { get; init; }

    /// <summary>Square resize before the random crop.</summary>
    [Field("Fine-tuning only: square resize before the random crop.", Minimum = 1, Maximum = 8192)]
    public int? PrecropSize { get; init; }

    /// <summary>Random-crop (and evaluation) size.</summary>
    [Field("Training crop and evaluation size (inception crop upstream, default 224).", Minimum = 1, Maximum = 8192)]
    public int? CropSize { get; init; }

    /// <summary>MixUp alpha; 0 = off.</summary>
    [Field("Fine-tuning only: MixUp Beta(alpha, alpha); 0 = off.", Minimum = 0, Maximum = 100)]
    public double? MixupAlpha { get; init; }

    /// <summary>Reference (512/480) or Paper (448/384) for images of at least 96x96.</summary>
    [Field("Fine-tuning only: Reference (precrop/crop 512/480, default) or Paper (448/384) for images of at least 96x96.")]
    public ResolutionRule? Resolution { get; init; }

    /// <summary>Pre-training: schedule length in epochs.</summary>
    [Field("Pre-training only: schedule length in epochs (default 90).", Minimum = 0, ExclusiveMinimum = true, Maximum = 100_000)]
    public double? Epochs { get; init; }

    /// <summary>Pre-training: decay points in epochs.</summary>
    [Field("Pre-training only: epochs after which the rate is divided by 10 (default 30, 60, 80 of 90, scaled with epochs).", MaxItems = 16, Minimum = 0, ExclusiveMinimum = true)]
    public IReadOnlyList<double>? DecayEpochs { get; init; }

    /// <summary>Pre-training: warm-up in epochs.</summary>
    [Field("Pre-training only: warm-up in epochs (default min(5000 steps, 5% of the run)).", Minimum = 0, Maximum = 100_000)]
    public double? WarmupEpochs { get; init; }

    /// <summary>Pre-training: L2 weight decay.</summary>
    [Field("Pre-training only: weight decay (default 1e-4; fine-tuning uses none).", Minimum = 0, Maximum = 1)]
    public double? WeightDecay { get; init; }

    /// <summary>Pre-training: softmax or sigmoid cross-entropy.</summary>
    [Field("Pre-training only: Softmax (default) or Sigmoid cross-entropy.")]
    public LossFunction? Loss { get; init; }
}
