namespace BiT.Operator.Runtime;

/// <summary>
/// Gives memory back after a burst. The informers replace every cached object on each update, so a burst of job
/// and pod changes (a large apply, the initial list of a big cluster) promotes thousands of dead versions into
/// gen2, where the workstation GC may leave them, and their regions committed, for a long time. Every
/// <paramref name="period"/> this looks at the managed heap; once it has grown by <paramref name="growthBytes"/>
/// since the last trim, it runs one aggressive (blocking, compacting, decommitting) full collection; and once a
/// burst is over (the heap changed by less than 1/16 of that in one period) a quarter of that growth suffices, so
/// that the garbage of a burst's last step does not stay. A settled operator's heap does not grow, so it pays
/// nothing; a burst pays one short pause per growth step and one when it ends.
/// </summary>
public sealed class MemoryTrimmer(
    TimeProvider time,
    TimeSpan period,
    long growthBytes,
    Func<long>? heapBytes = null,
    Action? collect = null)
{
    private readonly Func<long> _heapBytes = heapBytes ?? (() => GC.GetTotalMemory(forceFullCollection: false));
    private readonly Action _collect = collect ?? (() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true));

    /// <summary>
    /// Defaults of the operator: look every 2 s (a relist of 5,000 jobs and pods is over in a few seconds, and its
    /// garbage should not wait long); trim after 16 MiB of growth.
    /// </summary>
    public static MemoryTrimmer Default(TimeProvider time) => new(time, TimeSpan.FromSeconds(2), 16L << 20);

    /// <summary>Collections run so far.</summary>
    public int Trims { get; private set; }

    /// <summary>Looks at the heap so far (one per period).</summary>
    public int Checks => Volatile.Read(ref _checks);

    private int _checks;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var baseline = _heapBytes();
        var previous = baseline;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var now = _heapBytes();
            var grown = now - baseline;
            var settled = Math.Abs(now - previous) < growthBytes / 16;
            previous = now;
            if (grown >= growthBytes || (settled && grown >= growthBytes / 4))
            {
                _collect();
                Trims++;
                baseline = _heapBytes();
                previous = baseline;
            }
            else if (now < baseline)
            {
                // The GC freed memory on its own: growth counts from the lower level.
                baseline = now;
            }

            Interlocked.Increment(ref _checks);
        }
    }
}
