using BiT.Trainer.Data;

namespace BiT.Trainer.Training;

/// <summary>
/// MixUp as the reference code does it: one lambda ~ Beta(alpha, alpha) per optimizer step, and each micro-batch
/// mixed with a permutation of itself. Both are keyed by (seed, step, micro-batch) so a resumed run draws the same.
/// </summary>
public static class MixUp
{
    public static double Lambda(long seed, int step, double alpha) =>
        alpha > 0 ? new DeterministicRandom(seed, RandomPurpose.Mixup, step).NextBeta(alpha, alpha) : 1.0;

    public static long[] Permutation(long seed, int step, int microBatch, int count) =>
        [.. new DeterministicRandom(seed, RandomPurpose.MixupPermutation, step, microBatch).Permutation(count).Select(i => (long)i)];
}
