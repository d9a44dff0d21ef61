namespace BiT.Trainer.Data;

/// <summary>
/// The training stream as a pure function of the sample position: position p is example
/// <c>perm(seed, epoch)[p mod n]</c> of epoch <c>p / n</c>. Nothing else is state, so a resumed run only needs its step.
/// </summary>
public sealed class SampleOrder(int count, long seed, bool shuffle = true)
{
    private readonly Lock gate = new();
    private long cachedEpoch = -1;
    private int[] cached = [];

    public int Count { get; } = count > 0 ? count : throw new DataException("the training split is empty");

    public (long Epoch, int Index) At(long position)
    {
        var epoch = position / Count;
        var within = (int)(position % Count);
        if (!shuffle)
        {
            return (epoch, within);
        }
        lock (gate)
        {
            if (epoch != cachedEpoch)
            {
                cached = new DeterministicRandom(seed, RandomPurpose.EpochOrder, epoch).Permutation(Count);
                cachedEpoch = epoch;
            }
            return (epoch, cached[within]);
        }
    }
}
