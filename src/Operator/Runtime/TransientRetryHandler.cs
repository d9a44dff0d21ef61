using System.Net;

namespace BiT.Operator.Runtime;

/// <summary>
/// Retries an API request a few times, quickly, when the answer says "not now" rather than "no": 429 (after its
/// Retry-After, capped), 500/502/503/504, and a connection that failed before any answer. client-go does the same
/// for 429 and Retry-After; without it, one reconcile that makes six calls against a server failing 30 % of them
/// succeeds 12 % of the time and the job's exponential backoff soon runs into minutes.
/// </summary>
/// <remarks>
/// Retrying every verb is safe for this operator by construction, not by luck: creates use deterministic names
/// (a repeated create answers 409 AlreadyExists, which the executor ignores), deletes ignore 404, and every
/// patch carries the resourceVersion it was decided from (a repeated patch after one that did apply answers 409
/// and the reconcile decides again). The attempts stay few and short so that a worker is never held long: the
/// work queue's per-item backoff remains the long-term answer to a server that keeps failing.
/// </remarks>
public sealed class TransientRetryHandler : DelegatingHandler
{
    private readonly TimeProvider _time;
    private readonly int _maxRetries;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private long _retries;

    public TransientRetryHandler(TimeProvider time, int maxRetries = 3, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        _time = time;
        _maxRetries = maxRetries;
        _baseDelay = baseDelay ?? TimeSpan.FromMilliseconds(100);
        _maxDelay = maxDelay ?? TimeSpan.FromSeconds(2);
    }

    /// <summary>Requests retried so far (all verbs, all causes); read by the operator's metrics.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (attempt < _maxRetries && !cancellationToken.IsCancellationRequested)
            {
                await WaitAsync(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (attempt >= _maxRetries || !IsTransient(response.StatusCode))
            {
                return response;
            }

            var delay = response.Headers.RetryAfter is { } retryAfter ? RetryAfterDelay(retryAfter) : Backoff(attempt);
            response.Dispose();
            await WaitAsync(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests
        or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private TimeSpan RetryAfterDelay(System.Net.Http.Headers.RetryConditionHeaderValue retryAfter)
    {
        var wanted = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - _time.GetUtcNow() : _baseDelay);
        return wanted < TimeSpan.Zero ? TimeSpan.Zero : wanted > _maxDelay ? _maxDelay : wanted;
    }

    /// <summary>Exponential from the base delay with full jitter, so that many workers do not retry in step.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_maxDelay.TotalMilliseconds, _baseDelay.TotalMilliseconds * Math.Pow(2, attempt));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _retries);
        await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
    }
}
