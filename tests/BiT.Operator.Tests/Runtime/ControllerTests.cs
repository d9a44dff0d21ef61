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

    [Fact]
    public async Task A_terminal_error_is_not_retried_and_every_reconcile_is_observed_with_its_outcome()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var observed = new List<(string Key, string Outcome)>();
        using var cts = new CancellationTokenSource();
        var controller = new Controller<string>(q, (key, ct) => key switch
        {
            "bad" => throw new TerminalReconcileException("cannot ever work"),
            "bug" => throw new InvalidOperationException("boom"),
            "stale" => Task.FromResult(ReconcileResult.After(TimeSpan.FromSeconds(30)) with { Outcome = "conflict" }),
            _ => Task.FromResult(ReconcileResult.Done),
        }, parallelism: 1, NullLogger.Instance, (key, outcome, _) =>
        {
            lock (observed)
            {
                observed.Add((key, outcome));
            }
        });
        var run = controller.RunAsync(cts.Token);
        foreach (var key in new[] { "bad", "bug", "stale", "fine" })
        {
            q.Add(key);
        }

        await WaitUntil(() =>
        {
            lock (observed)
            {
                return observed.Count == 4;
            }
        });
        Assert.Equal([("bad", "terminal"), ("bug", "error"), ("stale", "conflict"), ("fine", "success")], observed);

        // The failing key and the requeued one wait; the terminal one does not come back by itself.
        Assert.Equal(2, q.DelayedCount);
        Assert.Equal(0, q.Failures("bad"));
        Assert.Equal(1, q.Failures("bug"));
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntil(() =>
        {
            lock (observed)
            {
                return observed.Count == 6;
            }
        });
        Assert.DoesNotContain(observed.Skip(4), o => o.Key == "bad");
        await cts.CancelAsync();
        q.ShutDown();
        await run;
    }

    [Fact]
    public async Task Delayed_keys_come_out_in_due_order_and_an_earlier_time_replaces_a_later_one()
    {
        var time = new FakeTimeProvider();
        using var q = new WorkQueue<string>(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        q.AddAfter("c", TimeSpan.FromSeconds(30));
        q.AddAfter("a", TimeSpan.FromSeconds(10));
        q.AddAfter("b", TimeSpan.FromSeconds(20));
        q.AddAfter("c", TimeSpan.FromSeconds(5));
        q.AddAfter("a", TimeSpan.FromSeconds(50));
        Assert.Equal(3, q.DelayedCount);
        var order = new List<string>();
        foreach (var step in new[] { 5, 10, 20 })
        {
            time.SetUtcNow(time.Start + TimeSpan.FromSeconds(step));
            await WaitUntil(() => q.Depth == 1);
            var (ok, key) = await q.TryGetAsync(CancellationToken.None);
            Assert.True(ok);
            order.Add(key);
            q.Done(key);
        }

        Assert.Equal(["c", "a", "b"], order);
        Assert.Equal(0, q.DelayedCount);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, q.Depth);
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
