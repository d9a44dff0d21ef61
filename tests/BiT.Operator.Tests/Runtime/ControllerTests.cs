using BiT.Operator.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BiT.Operator.Tests.Runtime;

public sealed class ControllerTests
{
    [Fact]
    public async Task One_reconcile_at_a_time_per_key_and_bounded_parallelism()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var active = new Dictionary<string, int>();
        var maxPerKey = 0;
        var maxTotal = 0;
        var total = 0;
        var calls = 0;
        var gate = new object();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var enoughStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var controller = new Controller<string>(q, async (key, ct) =>
        {
            lock (gate)
            {
                active[key] = active.GetValueOrDefault(key) + 1;
                total++;
                calls++;
                maxPerKey = Math.Max(maxPerKey, active[key]);
                maxTotal = Math.Max(maxTotal, total);
                if (total == 3)
                {
                    enoughStarted.TrySetResult();
                }
            }

            await release.Task;
            lock (gate)
            {
                active[key]--;
                total--;
            }

            return ReconcileResult.Done;
        }, parallelism: 3, NullLogger.Instance);
        var run = controller.RunAsync(cts.Token);
        foreach (var k in new[] { "a", "b", "c", "d" })
        {
            q.Add(k);
        }

        await enoughStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        q.Add("a");
        q.Add("a");
        release.SetResult();
        while (true)
        {
            lock (gate)
            {
                if (calls >= 5 && total == 0 && q.Depth == 0)
                {
                    break;
                }
            }

            await Task.Delay(10);
        }

        await cts.CancelAsync();
        q.ShutDown();
        await run;
        Assert.Equal(1, maxPerKey);
        Assert.Equal(3, maxTotal);
        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task A_failing_reconcile_is_retried_with_backoff_and_requeue_after_is_honoured()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var calls = 0;
        var signal = new SemaphoreSlim(0);
        using var cts = new CancellationTokenSource();
        var controller = new Controller<string>(q, (key, ct) =>
        {
            var n = Interlocked.Increment(ref calls);
            signal.Release();
            return n == 1
                ? throw new InvalidOperationException("boom")
                : Task.FromResult(n == 2 ? ReconcileResult.After(TimeSpan.FromMinutes(5)) : ReconcileResult.Done);
        }, parallelism: 1, NullLogger.Instance);
        var run = controller.RunAsync(cts.Token);
        q.Add("a");
        await signal.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntil(() => q.DelayedCount == 1);
        Assert.Equal(1, q.Failures("a"));
        time.Advance(TimeSpan.FromSeconds(1));
        await signal.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntil(() => q.DelayedCount == 1);
        Assert.Equal(0, q.Failures("a"));
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await signal.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, calls);
        await cts.CancelAsync();
        q.ShutDown();
        await run;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition());
    }
}
