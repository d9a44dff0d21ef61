using KubeEmulator.Api;

namespace KubeEmulator;

/// <summary>
/// Failures for the reliability suite, configurable at start and while running: error rates per verb and resource
/// (500, 503, 429 with Retry-After), added latency, deterministic "fail the next N", dropped watch connections,
/// forced 410 Gone on new watches, and conflict storms (409 on writes). Thread-safe; seeded for repeatable runs.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly List<FaultRule> _rules = [];
    private Random _random = new(12345);
    private int _goneBudget;
    private string? _goneResource;
    internal Func<string?, int>? DropWatchesHandler { get; set; }

    /// <summary>The configured rules (a copy).</summary>
    public IReadOnlyList<FaultRule> Rules
    {
        get
        {
            lock (_lock)
            {
                return [.. _rules];
            }
        }
    }

    /// <summary>Reseeds the random source that decides which requests an error rate hits.</summary>
    public void Seed(int seed)
    {
        lock (_lock)
        {
            _random = new Random(seed);
        }
    }

    /// <summary>Fails a fraction of matching requests. verb/resource null match all; resource is the plural name (optionally with .group).</summary>
    public FaultRule AddErrorRate(double rate, int statusCode = 500, string? verb = null, string? resource = null, int retryAfterSeconds = 1)
    {
        if (rate is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "rate must be between 0 and 1");
        }
        if (statusCode is not (429 or 500 or 503 or 504 or 409))
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "statusCode must be 409, 429, 500, 503 or 504");
        }
        return Add(new FaultRule { Verb = verb, Resource = resource, Rate = rate, StatusCode = statusCode, RetryAfterSeconds = retryAfterSeconds });
    }

    /// <summary>Fails exactly the next <paramref name="count"/> matching requests.</summary>
    public FaultRule FailNext(int count, int statusCode = 500, string? verb = null, string? resource = null, int retryAfterSeconds = 1) =>
        Add(new FaultRule { Verb = verb, Resource = resource, Rate = 1, Remaining = count, StatusCode = statusCode, RetryAfterSeconds = retryAfterSeconds });

    /// <summary>Adds latency to matching requests (before they are served).</summary>
    public FaultRule AddLatency(TimeSpan latency, string? verb = null, string? resource = null) =>
        Add(new FaultRule { Verb = verb, Resource = resource, Rate = 0, Latency = latency });

    /// <summary>The next <paramref name="count"/> writes (update/patch) to the resource answer 409 Conflict.</summary>
    public FaultRule ConflictStorm(int count, string? resource = null) =>
        Add(new FaultRule { Verb = null, WritesOnly = true, Resource = resource, Rate = 1, Remaining = count, StatusCode = 409 });

    /// <summary>The next <paramref name="count"/> watch requests (on the resource, or any) answer 410 Gone.</summary>
    public void ForceGoneOnNextWatches(int count = 1, string? resource = null)
    {
        lock (_lock)
        {
            _goneBudget = count;
            _goneResource = resource;
        }
    }

    /// <summary>Closes every open client watch now (on the resource, or all); returns how many were closed.</summary>
    public int DropWatches(string? resource = null) => DropWatchesHandler?.Invoke(resource) ?? 0;

    public void Remove(FaultRule rule)
    {
        lock (_lock)
        {
            _rules.Remove(rule);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _rules.Clear();
            _goneBudget = 0;
        }
    }

    private FaultRule Add(FaultRule r)
    {
        lock (_lock)
        {
            _rules.Add(r);
        }
        return r;
    }

    /// <summary>The latency to add and the error to answer (null: serve normally) for one request.</summary>
    internal (TimeSpan Delay, ApiException? Error) Decide(string verb, string group, string resource)
    {
        lock (_lock)
        {
            var delay = TimeSpan.Zero;
            ApiException? error = null;
            foreach (var r in _rules.ToList())
            {
                if (!r.Matches(verb, group, resource))
                {
                    continue;
                }
                delay += r.Latency;
                if (error is not null || r.StatusCode == 0 || r.Rate <= 0)
                {
                    continue;
                }
                if (r.Remaining is { } left)
                {
                    if (left <= 0)
                    {
                        continue;
                    }
                    r.Remaining = left - 1;
                    if (r.Remaining == 0)
                    {
                        _rules.Remove(r);
                    }
                }
                else if (_random.NextDouble() >= r.Rate)
                {
                    continue;
                }
                r.Hits++;
                error = r.StatusCode switch
                {
                    429 => new ApiException(429, "TooManyRequests", "Too many requests, please try again later. (injected fault)") { RetryAfterSeconds = r.RetryAfterSeconds },
                    503 => new ApiException(503, "ServiceUnavailable", "The server is currently unable to handle the request (injected fault)") { RetryAfterSeconds = r.RetryAfterSeconds },
                    422 => new ApiException(422, "Invalid", $"{resource} is invalid: injected rejection"),
                    403 => new ApiException(403, "Forbidden", $"{resource} is forbidden: injected rejection"),
                    504 => new ApiException(504, "Timeout", "The server was unable to return a response in the time allotted (injected fault)"),
                    409 => new ApiException(409, "Conflict", $"Operation cannot be fulfilled on {resource}: the object has been modified; please apply your changes to the latest version and try again (injected conflict)"),
                    _ => new ApiException(500, "InternalError", "Internal error occurred: injected fault"),
                };
            }
            return (delay, error);
        }
    }

    internal bool TakeForcedGone(string resource)
    {
        lock (_lock)
        {
            if (_goneBudget > 0 && (_goneResource is null || _goneResource == resource))
            {
                _goneBudget--;
                return true;
            }
            return false;
        }
    }
}
