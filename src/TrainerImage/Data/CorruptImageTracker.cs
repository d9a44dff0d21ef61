namespace BiT.Trainer.Data;

/// <summary>
/// Counts images that could not be decoded. Each one is reported once as a warning; when the count passes
/// <c>threshold x total</c> the run fails, because a dataset that broken would train on something else than asked.
/// </summary>
public sealed class CorruptImageTracker(int total, double threshold, Action<string> warn)
{
    private readonly HashSet<string> seen = [];
    private readonly Lock gate = new();

    public const double DefaultThreshold = 0.01;

    public int Count
    {
        get
        {
            lock (gate)
            {
                return seen.Count;
            }
        }
    }

    public void Record(string what, string why)
    {
        int count;
        lock (gate)
        {
            if (!seen.Add(what))
            {
                return;
            }
            count = seen.Count;
        }
        warn($"warning: skipping corrupt image {what}: {why} ({count} skipped so far)");
        if (count > threshold * total)
        {
            throw new DataException(
                $"{count} of {total} images are corrupt or unreadable, above the {threshold * 100:0.##}% threshold (last: {what}: {why})");
        }
    }
}
