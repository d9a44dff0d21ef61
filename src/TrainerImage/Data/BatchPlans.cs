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
