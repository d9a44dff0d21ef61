namespace BiT.Operator.Runtime;

/// <summary>
/// A de-duplicating, delaying, rate-limited work queue in the shape of client-go's: a key is queued at most once,
/// a key being processed is never handed to a second worker (it is re-queued when <see cref="Done"/> is called),
/// and failures back off exponentially per key.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Queue<TKey> _ready = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, DateTimeOffset> _waiting = [];

    // The waiting keys by due time. An entry whose time no longer matches _waiting (the key was queued or given an
    // earlier time since) is stale and skipped when it reaches the top: no search on every add or timer tick. Stale
    // entries below the top would otherwise stay until their due time (a running job's status patches every few
    // seconds each leave one under its 15-minute stall check), so the heap is rebuilt from _waiting once they outnumber
    // the live ones: at most about twice the waiting keys, at an amortized O(1) per add.
    private readonly PriorityQueue<TKey, DateTimeOffset> _dueOrder = new();
    private const int CompactionSlack = 16;
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private bool _shutDown;

    public WorkQueue(TimeProvider time, TimeSpan baseBackoff, TimeSpan maxBackoff)
    {
        _time = time;
        BaseBackoff = baseBackoff;
        MaxBackoff = maxBackoff;
        _timer = time.CreateTimer(_ => PromoteDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan BaseBackoff { get; }

    public TimeSpan MaxBackoff { get; }

    /// <summary>Keys ready to be handed to a worker.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count;
            }
        }
    }

    /// <summary>Entries in the due-time heap, stale ones included (bounded by about twice <see cref="DelayedCount"/>).</summary>
    internal int DueEntries
    {
        get
        {
            lock (_gate)
            {
                return _dueOrder.Count;
            }
        }
    }

    /// <summary>Keys waiting for a delay (requeue-after or backoff) to pass.</summary>
    public int DelayedCount
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (_gate)
        {
            AddLocked(key);
        }
    }

    /// <summary>Queues the key once the delay has passed; an earlier pending time for the same key wins.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (_gate)
        {
            if (_shutDown)
            {
                return;
            }

            var due = _time.GetUtcNow() + delay;
            if (_waiting.TryGetValue(key, out var existing) && existing <= due)
            {
                return;
            }

            _waiting[key] = due;
            _dueOrder.Enqueue(key, due);
            CompactLocked();
            RearmLocked();
        }
    }

    /// <summary>Queues the key after this key's next backoff step (base, 2·base, 4·base … capped).</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        TimeSpan delay;
        lock (_gate)
        {
            var failures = _failures.GetValueOrDefault(key);
            _failures[key] = failures + 1;
            delay = BackoffFor(failures);
        }

        AddAfter(key, delay);
        return delay;
    }

    public TimeSpan BackoffFor(int previousFailures)
    {
        var factor = Math.Pow(2, Math.Min(previousFailures, 30));
        var ticks = BaseBackoff.Ticks * factor;
        return ticks >= MaxBackoff.Ticks ? MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Clears the key's failure count (after a successful reconcile).</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
        }
    }

    public int Failures(TKey key)
    {
        lock (_gate)
        {
            return _failures.GetValueOrDefault(key);
        }
    }

    /// <summary>Waits for the next key; returns false once the queue is shut down and drained.</summary>
    public async ValueTask<(bool Ok, TKey Key)> TryGetAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_ready.TryDequeue(out var key))
                {
                    _processing.Add(key);
                    _dirty.Remove(key);
                    return (true, key);
                }

                if (_shutDown)
                {
                    return (false, default!);
                }
            }

            await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Marks the key's processing finished; if it was added meanwhile it becomes ready again.</summary>
    public void Done(TKey key)
    {
        lock (_gate)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key) && !_shutDown)
            {
                _ready.Enqueue(key);
                _signal.Release();
            }
        }
    }

    public void ShutDown()
    {
        lock (_gate)
        {
            _shutDown = true;
            _ready.Clear();
            _waiting.Clear();
            _dueOrder.Clear();
        }

        // Wake every waiter so that each sees the shutdown.
        _signal.Release(1024);
    }

    public void Dispose()
    {
        _timer.Dispose();
        _signal.Dispose();
    }

    private void AddLocked(TKey key)
    {
        if (_shutDown || !_dirty.Add(key))
        {
            return;
        }

        if (_waiting.Remove(key))
        {
            CompactLocked();
        }

        if (_processing.Contains(key))
        {
            return;
        }

        _ready.Enqueue(key);
        _signal.Release();
    }

    private void PromoteDue()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            while (_dueOrder.TryPeek(out var key, out var due) && due <= now)
            {
                _dueOrder.Dequeue();
                if (_waiting.TryGetValue(key, out var current) && current == due)
                {
                    _waiting.Remove(key);
                    AddLocked(key);
                }
            }

            RearmLocked();
        }
    }

    /// <summary>Rebuilds the heap from the live due times once stale entries outnumber them (the live top, and so
    /// the timer, does not change).</summary>
    private void CompactLocked()
    {
        if (_dueOrder.Count <= (2 * _waiting.Count) + CompactionSlack)
        {
            return;
        }

        _dueOrder.Clear();
        _dueOrder.EnqueueRange(_waiting.Select(w => (w.Key, w.Value)));
    }

    private void RearmLocked()
    {
        // Drop stale entries so that the top is the next real due time.
        while (_dueOrder.TryPeek(out var key, out var due) && (!_waiting.TryGetValue(key, out var current) || current != due))
        {
            _dueOrder.Dequeue();
        }

        if (!_dueOrder.TryPeek(out _, out var next))
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var delay = next - _time.GetUtcNow();
        _timer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }
}
