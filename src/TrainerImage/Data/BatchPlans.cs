namespace BiT.Trainer.Data;

/// <summary>Batch planners: functions from a batch number to the examples in it (null = no more batches).</summary>
public static class BatchPlans
{
    /// <summary>The endless shuffled training stream, starting at micro-batch <paramref name="firstBatch"/>.</summary>
    public static Func<long, SampleRef[]?> Training(SampleOrder order, int batchSize, long firstBatch) => b =>
    {
        var refs = new SampleRef[batchSize];
        var start = (firstBatch + b) * batchSize;
        for (var i = 0; i < batchSize; i++)
        {
            var (epoch, index) = order.At(start + i);
            refs[i] = new SampleRef(index, epoch);
        }
        return refs;
    };

    /// <summary>
    /// One rank's part of the endless training stream: global step s holds stream positions
    /// [s·batch, (s+1)·batch); rank r of w reads the slice [r·batch/w, (r+1)·batch/w) of it, in <paramref name="split"/>
    /// micro-batches, from step <paramref name="firstStep"/> on. The ranks' slices are disjoint and together the
    /// whole global batch, whatever w is, so a run's stream does not depend on the world size.
    /// </summary>
    public static Func<long, SampleRef[]?> TrainingShard(SampleOrder order, int batchSize, int split, int worldSize, int rank, long firstStep)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize || batchSize % worldSize != 0 || batchSize / worldSize % split != 0)
        {
            throw new ArgumentException($"batch {batchSize} cannot be shared by {worldSize} ranks in {split} micro-batches (rank {rank})");
        }
        var share = batchSize / worldSize;
        var micro = share / split;
        return b =>
        {
            var step = firstStep + b / split;
            var start = step * batchSize + (long)rank * share + b % split * micro;
            var refs = new SampleRef[micro];
            for (var i = 0; i < micro; i++)
            {
                var (epoch, index) = order.At(start + i);
                refs[i] = new SampleRef(index, epoch);
            }
            return refs;
        };
    }

    /// <summary>Every example once, in order; the last batch may be short.</summary>
    public static Func<long, SampleRef[]?> Sequential(int count, int batchSize) => b =>
    {
        var start = b * batchSize;
        if (start >= count)
        {
            return null;
        }
        var n = (int)Math.Min(batchSize, count - start);
        return [.. Enumerable.Range((int)start, n).Select(i => new SampleRef(i, 0))];
    };
}
