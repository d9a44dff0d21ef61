using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BiT.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BiT.Operator.Tests.Runtime;

public sealed class InformerTests
{
    private static V1ConfigMap Obj(string name, string rv) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns", ResourceVersion = rv } };

    /// <summary>A scripted server: each list returns the current objects; each watch plays one scripted channel.</summary>
    private sealed class FakeSource : IListWatchSource<V1ConfigMap>
    {
        public List<V1ConfigMap> Objects { get; } = [];

        public string Version { get; set; } = "10";

        public Channel<Func<WatchEvent<V1ConfigMap>>> Events { get; } = Channel.CreateUnbounded<Func<WatchEvent<V1ConfigMap>>>();

        public List<string> WatchedFrom { get; } = [];

        public int Lists { get; private set; }

        public Task<ListResult<V1ConfigMap>> ListAsync(CancellationToken cancellationToken)
        {
            Lists++;
            return Task.FromResult(new ListResult<V1ConfigMap>([.. Objects], Version));
        }

        public async IAsyncEnumerable<WatchEvent<V1ConfigMap>> WatchAsync(string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (WatchedFrom)
            {
                WatchedFrom.Add(resourceVersion);
            }

            while (true)
            {
                var next = await Events.Reader.ReadAsync(cancellationToken);
                var evt = next(); // may throw, to simulate 410 or a dropped connection
                if (evt is null)
                {
                    yield break; // the server closed the watch
                }

                yield return evt;
            }
        }
    }

    [Fact]
    public async Task Relist_announces_only_differences_and_removes_vanished_objects()
    {
        var source = new FakeSource();
        source.Objects.AddRange([Obj("a", "1"), Obj("b", "2")]);
        var informer = new Informer<V1ConfigMap>("cm", source, new FakeTimeProvider(), TimeSpan.Zero, NullLogger.Instance);
        var seen = new List<(InformerEventType, string)>();
        informer.Changed += (t, o) => seen.Add((t, o.Metadata.Name));
        await informer.RelistAsync(CancellationToken.None);
        Assert.Equal([(InformerEventType.Added, "a"), (InformerEventType.Added, "b")], seen);
        seen.Clear();
        source.Objects.Clear();
        source.Objects.AddRange([Obj("a", "1"), Obj("c", "3")]);
        await informer.RelistAsync(CancellationToken.None);
        Assert.Equal([(InformerEventType.Added, "c"), (InformerEventType.Deleted, "b")], seen);
        Assert.Null(informer.Get("ns", "b"));
        Assert.NotNull(informer.Get("ns", "c"));
    }

    [Fact]
    public void Watch_events_update_the_cache_and_bookmarks_advance_the_version()
    {
        var informer = new Informer<V1ConfigMap>("cm", new FakeSource(), new FakeTimeProvider(), TimeSpan.Zero, NullLogger.Instance);
        informer.Apply(new(WatchEventType.Added, Obj("a", "11"), "11"));
        informer.Apply(new(WatchEventType.Modified, Obj("a", "12"), "12"));
        Assert.Equal("12", informer.Get("ns", "a")!.Metadata.ResourceVersion);
        informer.Apply(new(WatchEventType.Bookmark, null, "40"));
        Assert.Equal("40", informer.LastResourceVersion);
        informer.Apply(new(WatchEventType.Deleted, Obj("a", "41"), "41"));
        Assert.Equal(0, informer.Count);
        Assert.Equal("41", informer.LastResourceVersion);
    }

    [Fact]
    public async Task Gone_makes_the_informer_list_again_and_a_closed_watch_resumes_from_the_last_version()
    {
        var time = new FakeTimeProvider();
        var source = new FakeSource();
        source.Objects.Add(Obj("a", "5"));
        var informer = new Informer<V1ConfigMap>("cm", source, time, TimeSpan.Zero, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        await source.Events.Writer.WriteAsync(() => new(WatchEventType.Bookmark, null, "20"));
        await source.Events.Writer.WriteAsync(() => null!); // server closes the watch normally
        await WaitUntil(() => source.WatchedFrom.Count == 2);
        Assert.Equal(["10", "20"], source.WatchedFrom);
        Assert.Equal(1, source.Lists);

        source.Objects.Add(Obj("b", "30"));
        source.Version = "30";
        await source.Events.Writer.WriteAsync(() => throw new ResourceExpiredException("gone"));
        await WaitUntil(() => source.WatchedFrom.Count == 3);
        Assert.Equal(2, source.Lists);
        Assert.Equal("30", source.WatchedFrom[2]);
        Assert.NotNull(informer.Get("ns", "b"));
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_dropped_watch_lists_again_after_a_backoff()
    {
        var time = new FakeTimeProvider();
        var source = new FakeSource();
        var informer = new Informer<V1ConfigMap>("cm", source, time, TimeSpan.Zero, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await WaitUntil(() => source.WatchedFrom.Count == 1);
        await source.Events.Writer.WriteAsync(() => throw new IOException("connection reset"));
        await WaitUntil(() => time.GetUtcNow() >= time.Start && source.Lists == 1);
        for (var i = 0; i < 100 && source.Lists == 1; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        Assert.Equal(2, source.Lists);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Resync_reannounces_every_cached_object_each_period()
    {
        var time = new FakeTimeProvider();
        var source = new FakeSource();
        source.Objects.AddRange([Obj("a", "1"), Obj("b", "2")]);
        var informer = new Informer<V1ConfigMap>("cm", source, time, TimeSpan.FromMinutes(5), NullLogger.Instance);
        var resyncs = 0;
        informer.Changed += (t, _) =>
        {
            if (t == InformerEventType.Resync)
            {
                Interlocked.Increment(ref resyncs);
            }
        };
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, resyncs);
        time.Advance(TimeSpan.FromMinutes(5));
        await WaitUntil(() => Volatile.Read(ref resyncs) == 2);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public void An_index_follows_adds_changes_deletes_and_upserts()
    {
        var informer = new Informer<V1ConfigMap>("cm", new FakeSource(), new FakeTimeProvider(), TimeSpan.Zero, NullLogger.Instance);
        informer.AddIndex("owner", cm => cm.Metadata.Labels is { } labels && labels.TryGetValue("owner", out var owner) ? owner : null);
        V1ConfigMap Owned(string name, string rv, string? owner)
        {
            var cm = Obj(name, rv);
            cm.Metadata.Labels = owner is null ? null : new Dictionary<string, string> { ["owner"] = owner };
            return cm;
        }

        informer.Apply(new(WatchEventType.Added, Owned("a", "1", "x"), "1"));
        informer.Apply(new(WatchEventType.Added, Owned("b", "2", "x"), "2"));
        informer.Apply(new(WatchEventType.Added, Owned("c", "3", null), "3"));
        Assert.Equal(["a", "b"], informer.ByIndex("owner", "x").Select(c => c.Metadata.Name).Order());

        informer.Apply(new(WatchEventType.Modified, Owned("b", "4", "y"), "4"));
        Assert.Equal(["a"], informer.ByIndex("owner", "x").Select(c => c.Metadata.Name));
        Assert.Equal(["b"], informer.ByIndex("owner", "y").Select(c => c.Metadata.Name));

        informer.Apply(new(WatchEventType.Deleted, Owned("a", "5", "x"), "5"));
        Assert.Empty(informer.ByIndex("owner", "x"));
        informer.Upsert(Owned("d", "6", "y"));
        Assert.Equal(["b", "d"], informer.ByIndex("owner", "y").Select(c => c.Metadata.Name).Order());
    }

    [Fact]
    public void An_object_sent_by_this_process_never_replaces_what_the_watch_already_delivered()
    {
        var informer = new Informer<V1ConfigMap>("cm", new FakeSource(), new FakeTimeProvider(), TimeSpan.Zero, NullLogger.Instance);
        // The watch is faster than the create's answer: the server's newer state is cached first.
        var delivered = Obj("p", "7");
        delivered.Data = new Dictionary<string, string> { ["phase"] = "Running" };
        informer.Apply(new(WatchEventType.Modified, delivered, "7"));
        var sent = Obj("p", null!);
        sent.Data = new Dictionary<string, string> { ["phase"] = "Pending" };
        informer.Upsert(sent);
        Assert.Equal("Running", informer.Get("ns", "p")!.Data["phase"]);

        // Where nothing is cached yet, what was sent fills the gap, and the server's version then replaces it.
        var other = Obj("q", null!);
        informer.Upsert(other);
        Assert.NotNull(informer.Get("ns", "q"));
        var server = Obj("q", "9");
        server.Data = new Dictionary<string, string> { ["phase"] = "Running" };
        informer.Upsert(server);
        Assert.Equal("Running", informer.Get("ns", "q")!.Data["phase"]);
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
