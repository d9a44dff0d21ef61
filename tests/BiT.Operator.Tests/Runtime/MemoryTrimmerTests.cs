using BiT.Operator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace BiT.Operator.Tests.Runtime;

public sealed class MemoryTrimmerTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public async Task Collects_once_the_heap_has_grown_by_the_threshold_and_counts_growth_from_after_the_collection()
    {
        var time = new FakeTimeProvider();
        var heap = 10 * MiB;
        var collections = 0;
        var trimmer = new MemoryTrimmer(time, TimeSpan.FromSeconds(10), 16 * MiB, () => heap, () =>
        {
            collections++;
            heap = 20 * MiB; // what the collection leaves live
        });
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);

        heap = 25 * MiB; // +15 MiB: below the threshold
        await Tick(trimmer, time);
        Assert.Equal(0, collections);

        heap = 26 * MiB; // +16 MiB since the start
        await Tick(trimmer, time);
        Assert.Equal(1, collections);
        Assert.Equal(1, trimmer.Trims);

        heap = 35 * MiB; // +15 MiB over the 20 MiB left after the collection
        await Tick(trimmer, time);
        Assert.Equal(1, collections);

        heap = 36 * MiB;
        await Tick(trimmer, time);
        Assert.Equal(2, collections);

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Once_growth_stops_a_quarter_of_the_threshold_is_enough()
    {
        var time = new FakeTimeProvider();
        var heap = 10 * MiB;
        var collections = 0;
        var trimmer = new MemoryTrimmer(time, TimeSpan.FromSeconds(10), 16 * MiB, () => heap, () =>
        {
            collections++;
            heap = 12 * MiB;
        });
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);

        heap = 13 * MiB; // +3 MiB: less than a quarter
        await Tick(trimmer, time);
        await Tick(trimmer, time);
        Assert.Equal(0, collections);

        heap = 20 * MiB; // +10 MiB, still growing (7 MiB in one period): not yet
        await Tick(trimmer, time);
        Assert.Equal(0, collections);

        await Tick(trimmer, time); // unchanged for a period: the burst is over
        Assert.Equal(1, collections);

        await Tick(trimmer, time); // 12 MiB left: nothing more to do
        Assert.Equal(1, collections);

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_heap_that_shrank_on_its_own_lowers_the_baseline()
    {
        var time = new FakeTimeProvider();
        var heap = 30 * MiB;
        var collections = 0;
        var trimmer = new MemoryTrimmer(time, TimeSpan.FromSeconds(10), 16 * MiB, () => heap, () => collections++);
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);

        heap = 5 * MiB;
        await Tick(trimmer, time);
        heap = 21 * MiB; // +16 MiB over the lower level, though below the first baseline
        await Tick(trimmer, time);
        Assert.Equal(1, collections);

        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_settled_heap_is_never_collected()
    {
        var time = new FakeTimeProvider();
        var collections = 0;
        var trimmer = new MemoryTrimmer(time, TimeSpan.FromSeconds(10), 16 * MiB, () => 40 * MiB, () => collections++);
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);
        for (var i = 0; i < 10; i++)
        {
            await Tick(trimmer, time);
        }

        Assert.Equal(0, collections);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task The_default_collection_runs_and_the_loop_stops_on_cancel()
    {
        var time = new FakeTimeProvider();
        var heap = 0L;
        var before = GC.CollectionCount(GC.MaxGeneration);
        var trimmer = new MemoryTrimmer(time, TimeSpan.FromSeconds(1), 1, () => heap);
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);
        heap = 1;
        await Tick(trimmer, time, TimeSpan.FromSeconds(1));
        Assert.Equal(1, trimmer.Trims);
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > before);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(run.IsCompletedSuccessfully);
    }

    // Advances the fake clock by a period until the loop has looked at the heap once more. (If the loop had not yet
    // started its next wait, that advance starts no check; another advance follows only after 200 ms without one.)
    private static async Task Tick(MemoryTrimmer trimmer, FakeTimeProvider time, TimeSpan? by = null)
    {
        var checks = trimmer.Checks;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (trimmer.Checks == checks)
        {
            Assert.True(DateTime.UtcNow < deadline, "the trimmer did not look at the heap after the period");
            time.Advance(by ?? TimeSpan.FromSeconds(10));
            for (var i = 0; i < 40 && trimmer.Checks == checks; i++)
            {
                await Task.Delay(5);
            }
        }
    }
}
