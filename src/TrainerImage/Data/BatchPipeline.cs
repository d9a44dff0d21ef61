using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace BiT.Trainer.Data;

/// <summary>
/// Decodes and augments batches on <c>workers</c> threads ahead of the consumer and hands them out in order.
/// The bounded channel caps memory at about <c>prefetch + workers</c> batches. Every random choice is keyed by
/// (seed, epoch, example index), so the batches do not depend on timing or on the number of workers.
/// <para>
/// Pixel buffers are pooled: a consumer that is done with a batch's pixels (it has copied them into a tensor) hands
/// the batch back with <see cref="Return"/>, and a later batch of the same size is written into that array instead
/// of a new one. At 480 px a batch of 32 is 88 MB of floats, which would otherwise be a new large-object-heap array
/// (zeroed, then collected by a gen-2 GC) per batch. A consumer that never returns batches gets new arrays.
/// </para>
/// </summary>
public sealed class BatchPipeline : IAsyncDisposable
{
    private readonly IImageDataset dataset;
    private readonly IImageTransform transform;
    private readonly Func<long, SampleRef[]?> planner;
    private readonly long seed;
    private readonly CorruptImageTracker tracker;
    private readonly Channel<Task<Batch>> ready;
    private readonly SemaphoreSlim slots;
    private readonly CancellationTokenSource stop = new();
    private readonly Task producer;
    private readonly ConcurrentQueue<float[]> pool = new();
    private readonly int poolCapacity;
    private long waitTicks;

    public BatchPipeline(
        IImageDataset dataset,
        IImageTransform transform,
        Func<long, SampleRef[]?> planner,
        long seed,
        int workers,
        int prefetch,
        CorruptImageTracker? tracker = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(prefetch);
        this.dataset = dataset;
        this.transform = transform;
        this.planner = planner;
        this.seed = seed;
        this.tracker = tracker ?? new CorruptImageTracker(dataset.Count, CorruptImageTracker.DefaultThreshold, Console.Error.WriteLine);
        ready = Channel.CreateBounded<Task<Batch>>(new BoundedChannelOptions(prefetch) { SingleReader = true, SingleWriter = true });
        slots = new SemaphoreSlim(workers, workers);
        // Enough for every batch in flight: being built, waiting in the channel, and the two the consumer may hold.
        poolCapacity = workers + prefetch + 2;
        producer = Task.Run(() => ProduceAsync(stop.Token));
    }

    /// <summary>Time the consumer spent waiting for a batch that was not ready yet.</summary>
    public TimeSpan WaitTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref waitTicks));

    /// <summary>The next batch, or null at the end of a finite plan.</summary>
    public async ValueTask<Batch?> NextAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (!ready.Reader.TryRead(out var next))
            {
                if (!await ready.Reader.WaitToReadAsync(cancellationToken))
                {
                    return null;
                }
                ready.Reader.TryRead(out next);
            }
            return await next!.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Add(ref waitTicks, Stopwatch.GetTimestamp() - started);
        }
    }

    /// <summary>
    /// Hands a batch from <see cref="NextAsync"/> back once its pixels have been copied out; its array is reused by a
    /// later batch, so the caller must not read <see cref="Batch.Pixels"/> afterwards, nor return it twice.
    /// </summary>
    public void Return(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (pool.Count < poolCapacity)
        {
            pool.Enqueue(batch.Pixels);
        }
    }

    /// <summary>Pixel arrays the pipeline allocated (not taken from the pool) since it started.</summary>
    public long AllocatedBuffers => Interlocked.Read(ref allocated);

    private long allocated;

    private float[] RentPixels(int length)
    {
        // Batches have one size except a finite plan's last; an array of another length goes to the collector.
        while (pool.TryDequeue(out var pixels))
        {
            if (pixels.Length == length)
            {
                return pixels;
            }
        }
        Interlocked.Increment(ref allocated);
        return GC.AllocateUninitializedArray<float>(length);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await producer;
        }
        catch (OperationCanceledException)
        {
            // Expected: the producer was stopped while waiting for space.
        }
        while (ready.Reader.TryRead(out var pending))
        {
            try
            {
                await pending;
            }
            catch (Exception e) when (e is OperationCanceledException or DataException)
            {
                // A batch nobody will read; its failure does not matter any more.
            }
        }
        stop.Dispose();
        slots.Dispose();
    }

    private async Task ProduceAsync(CancellationToken cancellationToken)
    {
        try
        {
            for (long b = 0; ; b++)
            {
                var refs = planner(b);
                if (refs is null)
                {
                    break;
                }
                await slots.WaitAsync(cancellationToken);
                var task = Task.Run(
                    () =>
                    {
                        try
                        {
                            return Build(refs);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    },
                    CancellationToken.None);
                await ready.Writer.WriteAsync(task, cancellationToken);
            }
            ready.Writer.TryComplete();
        }
        catch (Exception e)
        {
            ready.Writer.TryComplete(e);
            throw;
        }
    }

    private Batch Build(SampleRef[] refs)
    {
        var size = transform.Size;
        var stride = 3 * size * size;
        // Every element is written by the transform, so a reused (or uninitialised) array holds nothing stale.
        var pixels = RentPixels(refs.Length * stride);
        var labels = new int[refs.Length];
        for (var i = 0; i < refs.Length; i++)
        {
            var (image, index) = LoadSkippingCorrupt(refs[i].Index);
            var random = new DeterministicRandom(seed, RandomPurpose.Augment, refs[i].Epoch, refs[i].Index);
            transform.Apply(image, ref random, pixels.AsSpan(i * stride, stride));
            labels[i] = dataset.LabelOf(index);
        }
        return new Batch(pixels, labels, size);
    }

    private (RawImage Image, int Index) LoadSkippingCorrupt(int index)
    {
        for (var attempt = 0; attempt < dataset.Count; attempt++)
        {
            var candidate = (index + attempt) % dataset.Count;
            try
            {
                return (dataset.LoadForTransform(candidate, transform.MinimumSourceSide, transform.MinimumSourceSide), candidate);
            }
            catch (CorruptImageException e)
            {
                // The next example stands in, so the batch keeps its size and the stream stays deterministic.
                tracker.Record(dataset.Describe(candidate), e.Message);
            }
        }
        throw new DataException("no readable image left in the dataset");
    }
}
