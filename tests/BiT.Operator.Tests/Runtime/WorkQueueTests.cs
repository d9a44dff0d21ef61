using BiT.Operator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace BiT.Operator.Tests.Runtime;

public sealed class WorkQueueTests
{
    private static WorkQueue<string> NewQueue(FakeTimeProvider time) =>
        new(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Adding_a_key_twice_queues_it_once()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        q.Add("a");
        q.Add("a");
        q.Add("b");
        Assert.Equal(2, q.Depth);
        var (_, first) = await q.TryGetAsync(CancellationToken.None);
        Assert.Equal("a", first);
        Assert.Equal(1, q.Depth);
    }

    [Fact]
    public async Task A_key_added_while_processing_is_handed_out_again_only_after_done()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        q.Add("a");
        var (_, key) = await q.TryGetAsync(CancellationToken.None);
        q.Add("a");
        Assert.Equal(0, q.Depth);
        q.Done(key);
        Assert.Equal(1, q.Depth);
        var (_, again) = await q.TryGetAsync(CancellationToken.None);
        Assert.Equal("a", again);
        q.Done(again);
        Assert.Equal(0, q.Depth);
    }

    [Fact]
    public void AddAfter_makes_the_key_ready_exactly_when_the_delay_has_passed()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        q.AddAfter("a", TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(0, q.Depth);
        Assert.Equal(1, q.DelayedCount);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(1, q.Depth);
        Assert.Equal(0, q.DelayedCount);
    }

    [Fact]
    public void The_earlier_of_two_delays_for_one_key_wins()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        q.AddAfter("a", TimeSpan.FromSeconds(10));
        q.AddAfter("a", TimeSpan.FromSeconds(2));
        q.AddAfter("a", TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, q.Depth);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, q.Depth);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(4, 16)]
    [InlineData(5, 30)]
    [InlineData(60, 30)]
    public void Backoff_doubles_per_failure_and_is_capped(int failures, double seconds)
    {
        using var q = NewQueue(new FakeTimeProvider());
        Assert.Equal(TimeSpan.FromSeconds(seconds), q.BackoffFor(failures));
    }

    [Fact]
    public void Rate_limited_adds_back_off_per_key_and_forget_resets()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        Assert.Equal(TimeSpan.FromSeconds(1), q.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromSeconds(2), q.AddRateLimited("a"));
        Assert.Equal(TimeSpan.FromSeconds(1), q.AddRateLimited("b"));
        Assert.Equal(2, q.Failures("a"));
        q.Forget("a");
        Assert.Equal(0, q.Failures("a"));
        Assert.Equal(TimeSpan.FromSeconds(1), q.AddRateLimited("a"));
    }

    [Fact]
    public async Task Shutdown_releases_waiting_workers()
    {
        using var q = NewQueue(new FakeTimeProvider());
        var waiting = q.TryGetAsync(CancellationToken.None).AsTask();
        q.ShutDown();
        var (ok, _) = await waiting;
        Assert.False(ok);
    }

    [Fact]
    public async Task The_delay_heap_stays_bounded_when_watch_events_keep_requeueing_keys_with_a_pending_delay()
    {
        // A running job: each status patch is a watch event (Add), its reconcile asks to be looked at again by the
        // stall timeout (AddAfter 15 min). Before compaction every round left one stale heap entry per key.
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        var keys = Enumerable.Range(0, 50).Select(i => $"job-{i}").ToArray();

        // A quiet key due sooner holds the top of the heap, so stale entries below it are not dropped lazily.
        q.AddAfter("quiet", TimeSpan.FromMinutes(10));
        var most = 0;
        for (var round = 0; round < 200; round++)
        {
            foreach (var key in keys)
            {
                q.Add(key);
                var (_, got) = await q.TryGetAsync(CancellationToken.None);
                Assert.Equal(key, got);
                q.AddAfter(got, TimeSpan.FromMinutes(15));
                q.Done(got);
                most = Math.Max(most, q.DueEntries);
            }

            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(keys.Length + 1, q.DelayedCount);
        Assert.InRange(most, keys.Length, (2 * (keys.Length + 1)) + 16 + 1);

        // The live due times survive the rebuilds: the quiet key at 10 minutes, every job 15 minutes after its last
        // reconcile (the last round ran at 199 s: due at 1,099 s), not before.
        time.Advance(TimeSpan.FromSeconds(600 - 200));
        Assert.Equal(1, q.Depth);
        time.Advance(TimeSpan.FromSeconds(1_098 - 600));
        Assert.Equal(1, q.Depth);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(keys.Length + 1, q.Depth);
        Assert.Equal(0, q.DelayedCount);
        Assert.Equal(0, q.DueEntries);
    }

    [Fact]
    public void The_delay_heap_stays_bounded_when_keys_keep_getting_earlier_times()
    {
        var time = new FakeTimeProvider();
        using var q = NewQueue(time);
        for (var i = 0; i < 5_000; i++)
        {
            q.AddAfter($"k{i % 10}", TimeSpan.FromSeconds(10_000 - i));
            Assert.InRange(q.DueEntries, 1, (2 * 10) + 16 + 1);
        }

        Assert.Equal(10, q.DelayedCount);
        // Each key keeps its last (earliest) time: 10,000 - 4,999 = 5,001 s for k9 up to 5,010 s for k0.
        time.Advance(TimeSpan.FromSeconds(5_000));
        Assert.Equal(0, q.Depth);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, q.Depth);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(10, q.Depth);
    }
}
