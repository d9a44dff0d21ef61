namespace BiT.Contracts.Rules;

/// <summary>What the upstream (pre-training) recipe chooses for one run.</summary>
/// <param name="BatchSize">Global batch size.</param>
/// <param name="Epochs">Passes over the training data (the recipe's 90 unless overridden).</param>
/// <param name="TotalSteps">Optimizer steps of the whole run.</param>
/// <param name="WarmupSteps">Linear warm-up from 0 over this many steps.</param>
/// <param name="DecayEpochs">The decay points in epochs (30/60/80 of 90 by default, scaled with the epochs).</param>
/// <param name="DecaySteps">The same decay points in steps, as fractions of <paramref name="TotalSteps"/>.</param>
/// <param name="BaseLearningRate">0.03 x batch / 256 unless overridden.</param>
/// <param name="Momentum">SGD momentum (0.9).</param>
/// <param name="WeightDecay">L2 weight decay (1e-4 by default; the paper stresses that a large one matters).</param>
/// <param name="CropSize">Inception-style random crop size (224 by default).</param>
/// <param name="Loss">Softmax (default) or sigmoid cross-entropy.</param>
public sealed record UpstreamSettings(
    int BatchSize,
    double Epochs,
    int TotalSteps,
    int WarmupSteps,
    IReadOnlyList<double> DecayEpochs,
    IReadOnlyList<int> DecaySteps,
    double BaseLearningRate,
    double Momentum,
    double WeightDecay,
    int CropSize,
    LossFunction Loss)
{
    /// <summary>Upstream training uses no MixUp.</summary>
    public double MixupAlpha => 0.0;

    /// <summary>Value equality, including the decay lists (a record alone compares lists by reference).</summary>
    public bool Equals(UpstreamSettings? other) =>
        other is not null
        && BatchSize == other.BatchSize
        && Epochs.Equals(other.Epochs)
        && TotalSteps == other.TotalSteps
        && WarmupSteps == other.WarmupSteps
        && DecayEpochs.SequenceEqual(other.DecayEpochs)
        && DecaySteps.SequenceEqual(other.DecaySteps)
        && BaseLearningRate.Equals(other.BaseLearningRate)
        && Momentum.Equals(other.Momentum)
        && WeightDecay.Equals(other.WeightDecay)
        && CropSize == other.CropSize
        && Loss == other.Loss;

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(BatchSize);
        hash.Add(Epochs);
        hash.Add(TotalSteps);
        hash.Add(WarmupSteps);
        foreach (var e in DecayEpochs)
        {
            hash.Add(e);
        }

        foreach (var s in DecaySteps)
        {
            hash.Add(s);
        }

        hash.Add(BaseLearningRate);
        hash.Add(Momentum);
        hash.Add(WeightDecay);
        hash.Add(CropSize);
        hash.Add(Loss);
        return hash.ToHashCode();
    }

    /// <summary>The learning-rate schedule these settings describe.</summary>
    public LearningRateSchedule ToSchedule() => new(BaseLearningRate, WarmupSteps, DecaySteps, TotalSteps);
}
