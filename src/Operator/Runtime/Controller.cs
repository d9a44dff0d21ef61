using Microsoft.Extensions.Logging;

namespace BiT.Operator.Runtime;

/// <summary>
/// Drains a work queue with bounded parallelism. The queue guarantees one reconcile at a time per key; errors
/// back off per key, a requested requeue-after is honoured exactly, and success clears the key's backoff.
/// </summary>
public sealed class Controller<TKey>(
    WorkQueue<TKey> queue,
    Func<TKey, CancellationToken, Task<ReconcileResult>> reconcile,
    int parallelism,
    ILogger logger) where TKey : notnull
{
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

            try
            {
                var result = await reconcile(key, cancellationToken).ConfigureAwait(false);
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
#pragma warning disable CA1031 // A failing reconcile must never stop the worker; it is retried with backoff.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var delay = queue.AddRateLimited(key);
                logger.LogWarning(ex, "Reconcile of {Key} failed; retrying in {Delay}", key, delay);
            }
            finally
            {
                queue.Done(key);
            }
        }
    }
}
