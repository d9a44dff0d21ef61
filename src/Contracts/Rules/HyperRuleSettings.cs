namespace BiT.Contracts.Rules;

/// <summary>What the BiT-HyperRule chooses for one fine-tuning task.</summary>
/// <param name="PrecropSize">Training images are resized to this square before the random crop.</param>
/// <param name="CropSize">Random-crop size for training; evaluation resizes straight to it.</param>
/// <param name="WarmupSteps">Linear warm-up from 0 over this many optimizer steps.</param>
/// <param name="DecaySteps">The rate is divided by 10 after each of these steps (strictly after).</param>
/// <param name="TotalSteps">Training stops when the step counter reaches this value.</param>
/// <param name="MixupAlpha">Beta(alpha, alpha) for MixUp; 0 means no MixUp.</param>
/// <param name="BaseLearningRate">The peak learning rate, reached at the end of the warm-up.</param>
/// <param name="BatchSize">The global batch size (images per optimizer step).</param>
public sealed record HyperRuleSettings(
    int PrecropSize,
    int CropSize,
    int WarmupSteps,
    IReadOnlyList<int> DecaySteps,
    int TotalSteps,
    double MixupAlpha,
    double BaseLearningRate,
    int BatchSize)
{
    /// <summary>Value equality, including the decay boundaries (a record alone compares the list by reference).</summary>
    public bool Equals(HyperRuleSettings? other) =>
        other is not null
        && PrecropSize == other.PrecropSize
        && CropSize == other.CropSize
        && WarmupSteps == other.WarmupSteps
        && DecaySteps.SequenceEqual(other.DecaySteps)
        && TotalSteps == other.TotalSteps
        && MixupAlpha.Equals(other.MixupAlpha)
        && BaseLearningRate.Equals(other.BaseLearningRate)
        && BatchSize == other.BatchSize;

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(PrecropSize);
        hash.Add(CropSize);
        hash.Add(WarmupSteps);
        foreach (var s in DecaySteps)
        {
            hash.Add(s);
        }

        hash.Add(TotalSteps);
        hash.Add(MixupAlpha);
        hash.Add(BaseLearningRate);
        hash.Add(BatchSize);
        return hash.ToHashCode();
    }

    /// <summary>The learning-rate schedule these settings describe.</summary>
    public LearningRateSchedule ToSchedule() => new(BaseLearningRate, WarmupSteps, DecaySteps, TotalSteps);
}
