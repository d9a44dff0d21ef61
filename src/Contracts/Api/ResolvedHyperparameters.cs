using BiT.Contracts.Crds;
using BiT.Contracts.Rules;

namespace BiT.Contracts.Api;

/// <summary>
/// Every hyperparameter the trainer uses, after the HyperRule or the upstream recipe and the spec's overrides.
/// The same object is in the plan and in <c>status.hyperparameters</c>.
/// </summary>
[Field("Every hyperparameter the trainer uses: the HyperRule or upstream recipe, then the spec's overrides.")]
public sealed record ResolvedHyperparameters
{
    /// <summary>HyperRule or UpstreamRecipe.</summary>
    [Field("Which rule chose the defaults: HyperRule or UpstreamRecipe.")]
    public string Rule { get; init; } = "";

    /// <summary>Field names the spec overrode.</summary>
    [Field("Names of the values the spec overrode.")]
    public IReadOnlyList<string> Overridden { get; init; } = [];

    /// <summary>Global batch size.</summary>
    [Field("Global batch size.")]
    public int BatchSize { get; init; }

    /// <summary>Micro-batches per optimizer step.</summary>
    [Field("Micro-batches per optimizer step.")]
    public int BatchSplit { get; init; } = 1;

    /// <summary>Peak learning rate.</summary>
    [Field("Peak learning rate.")]
    public double BaseLearningRate { get; init; }

    /// <summary>Optimizer steps.</summary>
    [Field("Optimizer steps.")]
    public int TotalSteps { get; init; }

    /// <summary>Warm-up steps.</summary>
    [Field("Linear warm-up steps.")]
    public int WarmupSteps { get; init; }

    /// <summary>Decay boundaries (rate / 10 strictly after each).</summary>
    [Field("Steps after which the rate is divided by 10.")]
    public IReadOnlyList<int> DecaySteps { get; init; } = [];

    /// <summary>Fine-tuning: resize before the random crop; null upstream (inception crop).</summary>
    [Field("Fine-tuning: square resize before the random crop.")]
    public int? PrecropSize { get; init; }

    /// <summary>Crop (and evaluation) size.</summary>
    [Field("Training crop and evaluation size.")]
    public int CropSize { get; init; }

    /// <summary>MixUp alpha; 0 = off.</summary>
    [Field("MixUp alpha; 0 = off.")]
    public double MixupAlpha { get; init; }

    /// <summary>SGD momentum.</summary>
    [Field("SGD momentum.")]
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (0 for fine-tuning).</summary>
    [Field("Weight decay.")]
    public double WeightDecay { get; init; }

    /// <summary>Loss function.</summary>
    [Field("Softmax or Sigmoid cross-entropy.")]
    public LossFunction Loss { get; init; }

    /// <summary>Pre-training: epochs.</summary>
    [Field("Pre-training: schedule length in epochs.")]
    public double? Epochs { get; init; }

    /// <summary>Pre-training: decay points in epochs.</summary>
    [Field("Pre-training: decay points in epochs.")]
    public IReadOnlyList<double>? DecayEpochs { get; init; }

    /// <summary>Training examples the schedule was chosen from (after few-shot subsetting).</summary>
    [Field("Training examples the rule saw (after few-shot subsetting).")]
    public long TrainExamples { get; init; }

    /// <summary>Ranks the operator runs the job on (status only: the plan does not depend on it).</summary>
    [Field("Ranks (processes) the job trains on: workers x processes per pod. Status only.", Minimum = 1)]
    public int? WorldSize { get; init; }

    /// <summary>Images in each micro-batch of each rank: batchSize / worldSize / batchSplit (status only).</summary>
    [Field("Images in each micro-batch of each rank: batchSize / worldSize / batchSplit. Status only.", Minimum = 0)]
    public int? RankMicroBatch { get; init; }

    /// <summary>These values with the world the operator runs them on.</summary>
    public ResolvedHyperparameters ForWorld(int worldSize) => this with
    {
        WorldSize = worldSize,
        RankMicroBatch = worldSize > 0 && BatchSplit > 0 ? BatchSize / worldSize / BatchSplit : null,
    };

    /// <summary>The learning-rate schedule these values describe.</summary>
    public LearningRateSchedule ToSchedule() => new(BaseLearningRate, WarmupSteps, DecaySteps, TotalSteps);

    /// <summary>Value equality including the lists, so "did the resolved values change?" is a plain comparison.</summary>
    public bool Equals(ResolvedHyperparameters? other) =>
        other is not null
        && Rule == other.Rule
        && Overridden.SequenceEqual(other.Overridden)
        && BatchSize == other.BatchSize
        && BatchSplit == other.BatchSplit
        && WorldSize == other.WorldSize
        && RankMicroBatch == other.RankMicroBatch
        && BaseLearningRate.Equals(other.BaseLearningRate)
        && TotalSteps == other.TotalSteps
        && WarmupSteps == other.WarmupSteps
        && DecaySteps.SequenceEqual(other.DecaySteps)
        && PrecropSize == other.PrecropSize
        && CropSize == other.CropSize
        && MixupAlpha.Equals(other.MixupAlpha)
        && Momentum.Equals(other.Momentum)
        && WeightDecay.Equals(other.WeightDecay)
        && Loss == other.Loss
        && Nullable.Equals(Epochs, other.Epochs)
        && (DecayEpochs is null ? other.DecayEpochs is null : other.DecayEpochs is not null && DecayEpochs.SequenceEqual(other.DecayEpochs))
        && TrainExamples == other.TrainExamples;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(BatchSize, BaseLearningRate, TotalSteps, WarmupSteps, CropSize, MixupAlpha, Loss, TrainExamples);
}
