using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>Watch semantics: from a resourceVersion, initial events, bookmarks, 410 Expired, timeouts, selectors, faults.</summary>
public sealed class WatchTests : IAsyncLifetime
{
    private KubeEmulatorServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        // A small history so that "too old" is reachable; frequent bookmarks.
        _server = await KubeEmulatorServer.StartAsync(new EmulatorOptions { WatchHistory = 50, BookmarkInterval = TimeSpan.FromMilliseconds(200) });
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    /// <summary>Reads newline-delimited watch events until the predicate over all events so far holds or the stream ends.</summary>
    private async Task<List<JsonNode>> ReadEventsAsync(string path, Func<List<JsonNode>, bool> enough, Func<Task>? afterStart = null)
    {
        using var http = RawHttp.Client(_server);
        using var resp = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.True(resp.IsSuccessStatusCode, $"watch answered {(int)resp.StatusCode}");
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        var events = new List<JsonNode>();
        if (afterStart is not null)
        {
            await afterStart();
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!enough(events) && await reader.ReadLineAsync(cts.Token) is { } line)
        {
            events.Add(JsonNode.Parse(line)!);
        }
        return events;
    }

    [Fact]
    public async Task Watch_from_a_resource_version_delivers_later_changes_in_order()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "w");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        var rv = cm.Metadata.ResourceVersion;
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"k\":\"v\"}}", V1Patch.PatchType.MergePatch), "a", ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("b", ns);
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}", e => e.Count >= 3);
        Assert.Equal(["ADDED", "MODIFIED", "DELETED"], events.Select(e => (string?)e["type"]));
        Assert.Equal(["b", "a", "b"], events.Select(e => (string?)e["object"]!["metadata"]!["name"]));
        var rvs = events.Select(e => long.Parse((string)e["object"]!["metadata"]!["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(rvs.Order(), rvs);
    }

    [Fact]
    public async Task Watch_through_kubernetes_client_sees_added_then_modified()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "kc");
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var seen = new List<(WatchEventType, string)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watchTask = Task.Run(async () =>
        {
            await foreach (var (type, item) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                seen.Add((type, item.Metadata.Name));
                if (seen.Count == 2)
                {
                    break;
                }
            }
        }, cts.Token);
        await Task.Delay(200, cts.Token);
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"k\":\"v\"}}", V1Patch.PatchType.MergePatch), "x", ns);
        await watchTask;
        Assert.Equal([(WatchEventType.Added, "x"), (WatchEventType.Modified, "x")], seen);
    }

    [Fact]
    public async Task Watch_without_version_starts_with_the_current_objects_and_bookmarks_follow()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "init");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&allowWatchBookmarks=true", e => e.Any(x => (string?)x["type"] == "BOOKMARK"));
        Assert.Equal("ADDED", (string?)events[0]["type"]);
        Assert.Equal("a", (string?)events[0]["object"]!["metadata"]!["name"]);
        var bookmark = events.Last();
        Assert.Equal("ConfigMap", (string?)bookmark["object"]!["kind"]);
        Assert.False(string.IsNullOrEmpty((string?)bookmark["object"]!["metadata"]!["resourceVersion"]));
    }

    [Fact]
    public async Task Watch_from_a_version_older_than_the_history_gets_410_expired()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "gone");
        var first = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c0" } }, ns);
        for (var i = 1; i < 80; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, ns);
        }
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={first.Metadata.ResourceVersion}", e => e.Count >= 1);
        Assert.Equal("ERROR", (string?)events[0]["type"]);
        Assert.Equal(410, (int?)events[0]["object"]!["code"]);
        Assert.Equal("Expired", (string?)events[0]["object"]!["reason"]);
    }

    [Fact]
    public async Task Kubernetes_client_reports_the_410_to_its_error_callback()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "gone2");
        var first = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c0" } }, ns);
        for (var i = 1; i < 80; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, ns);
        }
        Exception? error = null;
        var events = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var _ in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: first.Metadata.ResourceVersion, onError: e => error ??= e, cancellationToken: cts.Token))
        {
            events++;
        }
        Assert.Equal(0, events);
        var k = Assert.IsType<KubernetesException>(error);
        Assert.Equal(410, k.Status.Code);
        Assert.Equal("Expired", k.Status.Reason);
    }

    [Fact]
    public async Task Server_closes_the_watch_after_timeoutSeconds()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "timeout");
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&timeoutSeconds=1&resourceVersion={list.Metadata.ResourceVersion}", _ => false);
        Assert.Empty(events);
    }

    [Fact]
    public async Task Label_selector_watch_turns_relabeling_into_added_and_deleted()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "selw");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"labels\":{\"app\":\"x\"}}}", V1Patch.PatchType.MergePatch), "a", ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"labels\":{\"app\":\"y\"}}}", V1Patch.PatchType.MergePatch), "a", ns);
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&labelSelector=app%3Dx&resourceVersion={cm.Metadata.ResourceVersion}", e => e.Count >= 2);
        Assert.Equal(["ADDED", "DELETED"], events.Select(e => (string?)e["type"]));
    }

    [Fact]
    public async Task Faults_drop_watches_and_force_410()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "fw");
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var events = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={list.Metadata.ResourceVersion}", _ => false, async () =>
        {
            Assert.True(await TestSupport.EventuallyAsync(() => Task.FromResult(_server.Faults.DropWatches("configmaps") > 0)));
        });
        Assert.Empty(events);
        _server.Faults.ForceGoneOnNextWatches(1, "configmaps");
        var gone = await ReadEventsAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={list.Metadata.ResourceVersion}", e => e.Count >= 1);
        Assert.Equal(410, (int?)gone[0]["object"]!["code"]);
    }
}
