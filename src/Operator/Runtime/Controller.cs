using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Runtime;

/// <summary>
/// Drains a work queue with bounded parallelism. The queue guarantees one reconcile at a time per key; errors
/// back off per key, a <see cref="TerminalReconcileException"/> is not retried, a requested requeue-after is honoured
/// exactly, and success clears the key's backoff. Every reconcile, however it ends (an exception included), is
/// reported to <c>observe</c> with its outcome label and duration: the metrics live here, not in each reconciler.
/// </summary>
public sealed class Controller<TKey>(
    WorkQueue<TKey> queue,
    Func<TKey, CancellationToken, Task<ReconcileResult>> reconcile,
    int parallelism,
    ILogger logger,
    Action<TKey, string, TimeSpan>? observe = null) where TKey : notnull
{
    /// <summary>The outcome label of a reconcile that threw (it is retried with backoff).</summary>
    public const string ErrorOutcome = "error";

    /// <summary>The outcome label of a reconcile that threw a <see cref="TerminalReconcileException"/>.</summary>
    public const string TerminalOutcome = "terminal";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var workers = Enumerable.Range(0, Math.Max(1, parallelism)).Select(_ => WorkerAsync(cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: workers finish the reconcile they are in and stop.
        }
    }

    private async Task WorkerAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            var (ok, key) = await queue.TryGetAsync(cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();
            var outcome = ErrorOutcome;
            try
            {
                var result = await reconcile(key, cancellationToken).ConfigureAwait(false);
                outcome = result.Outcome;
                queue.Forget(key);
                if (result.RequeueAfter is { } after)
                {
                    queue.AddAfter(key, after);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (TerminalReconcileException ex)
            {
                outcome = TerminalOutcome;
                queue.Forget(key);
                logger.LogError(ex, "Reconcile of {Key} failed for good; not retried until it changes", key);
            }
#pragma warning disable CA1031 // A failing reconcile (a bug included) must never stop the worker; it is retried with backoff.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var delay = queue.AddRateLimited(key);
                logger.LogWarning(ex, "Reconcile of {Key} failed; retrying in {Delay}", key, delay);
            }
            finally
            {
                queue.Done(key);
                observe?.Invoke(key, outcome, Stopwatch.GetElapsedTime(started));
            }
        }
    }
}
