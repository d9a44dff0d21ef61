using KubeEmulator.Api;

namespace KubeEmulator.Watch;

/// <summary>
/// The watch cache: a bounded history of events (like the API server's watch cache over etcd's compaction window)
/// and the live subscribers. Publish runs under the store lock, so history order is revision order.
/// </summary>
internal sealed class WatchHub(int historySize)
{
    private readonly Lock _lock = new();
    private readonly WatchEvent?[] _ring = new WatchEvent?[Math.Max(1, historySize)];
    private int _next;
    private int _count;
    private long _droppedUpTo;
    private readonly List<WatchSubscription> _subscribers = [];

    public int SubscriberCount
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    /// <summary>The newest revision no longer in history; a watch from before it gets 410 Gone.</summary>
    public long OldestAvailable
    {
        get
        {
            lock (_lock)
            {
                return _droppedUpTo;
            }
        }
    }

    public void Publish(WatchEvent e)
    {
        lock (_lock)
        {
            if (_count == _ring.Length)
            {
                _droppedUpTo = _ring[_next]!.Revision;
            }
            else
            {
                _count++;
            }
            _ring[_next] = e;
            _next = (_next + 1) % _ring.Length;
            foreach (var s in _subscribers)
            {
                s.Offer(e);
            }
        }
    }

    /// <summary>Subscribes from a revision: replays kept history after it, then live events. Throws 410 when too old.</summary>
    public WatchSubscription Subscribe(long fromRevision, long currentRevision, Func<WatchEvent, bool> filter)
    {
        lock (_lock)
        {
            if (fromRevision < _droppedUpTo)
            {
                throw ApiException.Gone($"too old resource version: {fromRevision} ({_droppedUpTo + 1})");
            }
            if (fromRevision > currentRevision)
            {
                // The real server waits for a future revision; a test asking for one is almost always a bug, so say so.
                throw new ApiException(504, "Timeout", $"Too large resource version: {fromRevision}, current: {currentRevision}");
            }
            var sub = new WatchSubscription(fromRevision, filter) { Hub = this };
            var start = (_next - _count + _ring.Length) % _ring.Length;
            for (var i = 0; i < _count; i++)
            {
                sub.Offer(_ring[(start + i) % _ring.Length]!);
            }
            _subscribers.Add(sub);
            return sub;
        }
    }

    public void Unsubscribe(WatchSubscription sub)
    {
        lock (_lock)
        {
            _subscribers.Remove(sub);
        }
    }

    /// <summary>Closes every live watch (a fault, or shutdown); clients see the stream end and must re-watch.</summary>
    public int CloseAll(string reason, Func<WatchSubscription, bool>? which = null)
    {
        List<WatchSubscription> closing;
        lock (_lock)
        {
            closing = _subscribers.Where(s => which?.Invoke(s) ?? true).ToList();
        }
        foreach (var s in closing)
        {
            s.Close(reason);
        }
        return closing.Count;
    }
}
