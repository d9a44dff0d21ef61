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
}
