using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Runtime;

public enum InformerEventType
{
    Added,
    Updated,
    Deleted,

    /// <summary>A periodic resync: nothing changed, look again.</summary>
    Resync,
}

/// <summary>
/// A list+watch cache of one kind. Lists, then watches from the list's resource version (with bookmarks so the
/// version stays fresh), lists again on 410 Gone or a failed watch, and re-announces every cached object on each
/// resync period so that level-triggered reconcilers catch up on anything missed.
/// </summary>
public sealed class Informer<T>(
    string name,
    IListWatchSource<T> source,
    TimeProvider time,
    TimeSpan resyncPeriod,
    ILogger logger,
    Func<T, T>? transform = null) where T : class, IKubernetesObject<V1ObjectMeta>
{
    // Like client-go's TransformFunc: drops what no reconcile reads before the object is cached, to keep memory flat.
    private readonly Func<T, T> _transform = transform ?? (o => o);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Index> _indexes = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _resourceVersion = "";

    public event Action<InformerEventType, T>? Changed;

    public string Name => name;

    public bool HasSynced => _synced.Task.IsCompleted;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <summary>Number of lists made (the first one included); a relist after 410 or a failed watch adds one.</summary>
    public int ListCount { get; private set; }

    public string LastResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public static string KeyOf(string? ns, string objectName) => string.IsNullOrEmpty(ns) ? objectName : ns + "/" + objectName;

    public T? Get(string? ns, string objectName)
    {
        lock (_gate)
        {
            return _cache.GetValueOrDefault(KeyOf(ns, objectName));
        }
    }

    /// <summary>
    /// Keeps an index of the cache by <paramref name="keyOf"/> (client-go's indexer; null: not indexed), for
    /// <see cref="ByIndex"/>. Add indexes before the informer runs.
    /// </summary>
    public void AddIndex(string indexName, Func<T, string?> keyOf)
    {
        lock (_gate)
        {
            var index = new Index(keyOf);
            foreach (var (key, obj) in _cache)
            {
                index.Add(key, obj);
            }

            _indexes.Add(indexName, index);
        }
    }

    /// <summary>The cached objects whose index key is <paramref name="value"/>.</summary>
    public IReadOnlyList<T> ByIndex(string indexName, string value)
    {
        lock (_gate)
        {
            return _indexes[indexName].Get(value);
        }
    }

    public IReadOnlyList<T> List()
    {
        lock (_gate)
        {
            return [.. _cache.Values];
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _cache.Count;
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resync = ResyncLoopAsync(cancellationToken);
        var failures = 0;
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await RelistAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                }

                await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
                failures = 0;

                // The server closed the watch normally (its timeout): continue from the last version seen.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ResourceExpiredException)
            {
                logger.LogInformation("Informer {Name}: resource version expired (410 Gone); listing again", name);
                needList = true;
            }
#pragma warning disable CA1031 // The informer must outlive any transport error: it lists again after a backoff.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures++;
                needList = true;
                var delay = TimeSpan.FromMilliseconds(Math.Min(200 * Math.Pow(2, Math.Min(failures, 8)), 30_000));
                logger.LogWarning(ex, "Informer {Name}: list/watch failed; listing again in {Delay}", name, delay);
                try
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        try
        {
            await resync.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Replaces the cache with a fresh (paged) list, announcing only the differences.</summary>
    public async Task RelistAsync(CancellationToken cancellationToken)
    {
        // Transformed as each page is read (a paged source), so that the list never holds every full object at once.
        var result = await source.ListAsync(_transform, cancellationToken).ConfigureAwait(false);
        var events = new List<(InformerEventType, T)>();
        lock (_gate)
        {
            ListCount++;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in result.Items)
            {
                var key = KeyOf(item.Metadata.NamespaceProperty, item.Metadata.Name);
                seen.Add(key);
                if (_cache.TryGetValue(key, out var old))
                {
                    if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
                    {
                        events.Add((InformerEventType.Updated, item));
                    }
                }
                else
                {
                    events.Add((InformerEventType.Added, item));
                }

                Store(key, item);
            }

            foreach (var gone in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                events.Add((InformerEventType.Deleted, _cache[gone]));
                Drop(gone);
            }

            _resourceVersion = result.ResourceVersion;
        }

        Publish(events);
        _synced.TrySetResult();
    }

    private async Task WatchOnceAsync(CancellationToken cancellationToken)
    {
        await foreach (var evt in source.WatchAsync(LastResourceVersion, cancellationToken).ConfigureAwait(false))
        {
            Apply(evt);
        }
    }

    /// <summary>Applies one watch event to the cache (public for tests of the cache logic).</summary>
    public void Apply(WatchEvent<T> evt)
    {
        (InformerEventType, T)? publish = null;
        lock (_gate)
        {
            if (evt.Type == WatchEventType.Bookmark)
            {
                if (!string.IsNullOrEmpty(evt.ResourceVersion))
                {
                    _resourceVersion = evt.ResourceVersion;
                }

                return;
            }

            if (evt.Object is not { } rawObj)
            {
                return;
            }

            var obj = _transform(rawObj);

            var key = KeyOf(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            switch (evt.Type)
            {
                case WatchEventType.Added:
                case WatchEventType.Modified:
                    var existed = _cache.ContainsKey(key);
                    Store(key, obj);
                    publish = (existed ? InformerEventType.Updated : InformerEventType.Added, obj);
                    break;
                case WatchEventType.Deleted:
                    Drop(key);
                    publish = (InformerEventType.Deleted, obj);
                    break;
                default:
                    break;
            }

            if (!string.IsNullOrEmpty(obj.Metadata.ResourceVersion))
            {
                _resourceVersion = obj.Metadata.ResourceVersion;
            }
        }

        if (publish is { } p)
        {
            Publish([p]);
        }
    }

    /// <summary>
    /// Puts an object the operator itself just wrote into the cache without announcing it, so that the next
    /// reconcile does not act on the version from before its own write. An older version never replaces a newer.
    /// </summary>
    public void Upsert(T obj)
    {
        obj = _transform(obj);
        lock (_gate)
        {
            var key = KeyOf(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            // An object without a server version (one this process just sent) only fills a gap: the watch may
            // already have delivered the server's newer state (a pod created, then Running), and overwriting it
            // would leave the cache stale until the next relist. Nothing changes a pod after it is Running, so a
            // job once stayed Pending for minutes while its trainer reported progress.
            if (_cache.TryGetValue(key, out var existing)
                && long.TryParse(existing.Metadata.ResourceVersion, out var have)
                && (!long.TryParse(obj.Metadata.ResourceVersion, out var got) || got < have))
            {
                return;
            }

            Store(key, obj);
        }
    }

    /// <summary>Announces every cached object as a resync (also called by the resync timer).</summary>
    public void Resync()
    {
        Publish([.. List().Select(o => (InformerEventType.Resync, o))]);
    }

    private async Task ResyncLoopAsync(CancellationToken cancellationToken)
    {
        if (resyncPeriod <= TimeSpan.Zero)
        {
            return;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(resyncPeriod, time, cancellationToken).ConfigureAwait(false);
            if (HasSynced)
            {
                Resync();
            }
        }
    }

    private void Publish(IEnumerable<(InformerEventType Type, T Obj)> events)
    {
        var handler = Changed;
        if (handler is null)
        {
            return;
        }

        foreach (var (type, obj) in events)
        {
            handler(type, obj);
        }
    }

    private void Store(string key, T obj)
    {
        if (_indexes.Count > 0 && _cache.TryGetValue(key, out var old))
        {
            foreach (var index in _indexes.Values)
            {
                index.Remove(key, old);
            }
        }

        _cache[key] = obj;
        foreach (var index in _indexes.Values)
        {
            index.Add(key, obj);
        }
    }

    private void Drop(string key)
    {
        if (_cache.Remove(key, out var old))
        {
            foreach (var index in _indexes.Values)
            {
                index.Remove(key, old);
            }
        }
    }

    /// <summary>Cache keys by index key; guarded by the informer's lock.</summary>
    private sealed class Index(Func<T, string?> keyOf)
    {
        private readonly Dictionary<string, Dictionary<string, T>> _byValue = new(StringComparer.Ordinal);

        public void Add(string key, T obj)
        {
            if (keyOf(obj) is not { } value)
            {
                return;
            }

            if (!_byValue.TryGetValue(value, out var set))
            {
                set = new Dictionary<string, T>(1, StringComparer.Ordinal);
                _byValue[value] = set;
            }

            set[key] = obj;
        }

        public void Remove(string key, T obj)
        {
            if (keyOf(obj) is { } value && _byValue.TryGetValue(value, out var set) && set.Remove(key) && set.Count == 0)
            {
                _byValue.Remove(value);
            }
        }

        public IReadOnlyList<T> Get(string value) => _byValue.TryGetValue(value, out var set) ? [.. set.Values] : [];
    }
}
